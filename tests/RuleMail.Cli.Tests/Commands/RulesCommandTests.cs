using System.Text.Json;
using RuleMail.Cli.Tests.Support;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Cli.Tests.Commands;

/// <summary><c>rules lint</c>, the rule trace in <c>check</c>, and outgoing rules in <c>options</c> and <c>compose</c>.</summary>
public sealed class RulesCommandTests : IDisposable
{
    private readonly TempDirectory _work = new("cli-rules");
    private readonly string _root = CliRun.RepositoryRoot();

    [Fact]
    public void Lint_of_the_shipped_rules_is_clean()
    {
        var result = CliRun.Run(_root, null, "rules", "lint");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("no problems", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Lint_prints_every_problem_as_file_line_col_and_exits_3()
    {
        Directory.CreateDirectory(_work.File("rules"));
        File.WriteAllText(_work.File("rules/10-bad.yaml"), "rules:\n  - name: a\n    when: {subjct: x}\n    then: {sign: always}\n");

        var result = CliRun.Run(_work.Path, null, "rules", "lint", "rules");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("rules/10-bad.yaml:3:12: unknown field 'subjct'", result.Error, StringComparison.Ordinal);
        Assert.Contains("rules/10-bad.yaml:4:18: expected required, preferred or never", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Lint_of_one_file_checks_that_file_alone_with_the_name_it_will_have_in_the_folder()
    {
        Directory.CreateDirectory(_work.File("drafts"));
        File.WriteAllText(_work.File("drafts/10-bad.yaml"), "rules:\n  - name: a\n    when: {subjct: x}\n    then: {sign: always}\n");
        File.WriteAllText(_work.File("drafts/20-good.yaml"), "rules:\n  - name: b\n    on: incoming\n    then: {tag: b}\n");
        File.WriteAllText(_work.File("drafts/notes.txt"), "not a rule");

        var bad = CliRun.Run(_work.Path, null, "rules", "lint", "drafts/10-bad.yaml");
        var good = CliRun.Run(_work.Path, null, "rules", "lint", "drafts/20-good.yaml");
        var notRules = CliRun.Run(_work.Path, null, "rules", "lint", "drafts/notes.txt");

        Assert.Equal(3, bad.ExitCode);
        Assert.StartsWith("drafts/10-bad.yaml:3:12: unknown field 'subjct'", bad.Error, StringComparison.Ordinal);
        Assert.Equal((0, $"{_work.File("drafts/20-good.yaml")}: 1 rule(s) in 1 file(s), no problems\n"), (good.ExitCode, good.Output));
        Assert.Equal(3, notRules.ExitCode);
        Assert.EndsWith("notes.txt: not a rule file: rule files end in .yaml, .yml or .js", Assert.Single(notRules.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public void Lint_json_is_the_apis_lint_document_and_json_is_an_option_not_a_folder()
    {
        Directory.CreateDirectory(_work.File("rules"));
        File.WriteAllText(_work.File("rules/10-bad.yaml"), "rules:\n  - name: a\n    when: {subjct: x}\n    then: {tag: x}\n");

        var result = CliRun.Run(_work.Path, null, "rules", "lint", "--json", "rules");
        var shipped = CliRun.Run(_root, null, "rules", "lint", "--json");

        Assert.Equal(3, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output);
        Assert.False(json.RootElement.GetProperty("ok").GetBoolean());
        var error = Assert.Single(json.RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal(("rules/10-bad.yaml", 3, 12), (error.GetProperty("file").GetString(), error.GetProperty("line").GetInt32(), error.GetProperty("column").GetInt32()));
        Assert.Equal(0, shipped.ExitCode);
        using var clean = JsonDocument.Parse(shipped.Output);
        Assert.True(clean.RootElement.GetProperty("ok").GetBoolean());
        Assert.Equal(0, clean.RootElement.GetProperty("errors").GetArrayLength());
    }

    [Fact]
    public void Check_shows_the_shipped_rules_quarantining_a_message_whose_signature_failed()
    {
        var openssl = new OpenSsl(_work.Path);
        openssl.Write("body.txt", "Content-Type: text/plain\r\n\r\nPay account 12345\r\n");
        var source = Path.Combine(_root, "keystore-sample", "source");
        openssl.Run("smime", "-sign", "-in", "body.txt", "-signer", Path.Combine(source, "alice.crt"), "-inkey", Path.Combine(source, "alice.key"),
            "-passin", "pass:rulemail-sample-only", "-out", "signed.txt");
        var tampered = File.ReadAllText(_work.File("signed.txt")).Replace("12345", "99999", StringComparison.Ordinal);
        File.WriteAllText(_work.File("in.eml"), "From: alice@customer.test\r\nTo: support@rulemail.test\r\nSubject: pay\r\n" + tampered);

        var result = CliRun.Run(_root, null, "check", _work.File("in.eml"), "--json");

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output);
        Assert.False(json.RootElement.GetProperty("security").GetProperty("sign").GetProperty("success").GetBoolean());
        var rule = json.RootElement.GetProperty("rules").EnumerateArray().Single(r => r.GetProperty("matched").GetBoolean());
        Assert.Equal("quarantine-failed-security", rule.GetProperty("name").GetString());
        Assert.Equal("rules/00-quarantine-failed-security.yaml", rule.GetProperty("file").GetString());
        Assert.Equal("Quarantine", json.RootElement.GetProperty("decision").GetProperty("move").GetString());
        Assert.Empty(json.RootElement.GetProperty("errors").EnumerateArray());
    }

    [Fact]
    public void An_outgoing_rule_saying_never_turns_the_encrypt_button_off_by_default()
    {
        Directory.CreateDirectory(_work.File("rules"));
        File.WriteAllText(_work.File("rules/10-no-encryption.yaml"), "rules:\n  - name: internal\n    on: outgoing\n    then: {encrypt: never}\n");

        var result = CliRun.Run(_root, null, "options", "--from", "support@rulemail.test", "--to", "carol@both.test", "--json", "--rules", _work.File("rules"));

        using var json = JsonDocument.Parse(result.Output);
        var encrypt = json.RootElement.GetProperty("encrypt");
        Assert.True(encrypt.GetProperty("enabled").GetBoolean());
        Assert.False(encrypt.GetProperty("active").GetBoolean());
        Assert.Equal("This message will not be encrypted.", encrypt.GetProperty("tooltip").GetString());
    }

    [Fact]
    public void Compose_to_a_domain_whose_rule_requires_encryption_refuses_when_impossible_and_writes_nothing()
    {
        Directory.CreateDirectory(_work.File("rules"));
        File.Copy(Path.Combine(_root, "rules", "examples", "finance-requires-encryption.yaml"), _work.File("rules/20-finance.yaml"));

        var result = CliRun.Run(_root, null, "compose", "--rules", _work.File("rules"), "--from", "support@rulemail.test", "--to", "ap@finance.example",
            "--subject", "Q4", "--body", "numbers", "--out", _work.File("out.eml"));

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("cannot encrypt", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
        Assert.False(File.Exists(_work.File("out.eml")));
    }

    [Fact]
    public void Check_with_an_endless_script_stops_it_reports_it_and_still_prints_the_result_and_the_other_rules()
    {
        Directory.CreateDirectory(_work.File("rules"));
        File.WriteAllText(_work.File("rules/10-endless.js"), "function decide(message) { while (true) {} }\n");
        File.WriteAllText(_work.File("rules/20-tag.yaml"), "rules:\n  - name: tag-all\n    on: incoming\n    then: {tag: seen}\n");
        File.WriteAllText(_work.File("in.eml"), "From: alice@customer.test\r\nTo: support@rulemail.test\r\nSubject: hi\r\n\r\nhello\r\n");
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var result = CliRun.Run(_root, null, "check", _work.File("in.eml"), "--json", "--rules", _work.File("rules"));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"check took {clock.Elapsed}");
        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("security").GetProperty("type").ValueKind);
        var endless = json.RootElement.GetProperty("rules").EnumerateArray().Single(r => r.GetProperty("name").GetString() == "10-endless");
        Assert.False(endless.GetProperty("matched").GetBoolean());
        Assert.False(string.IsNullOrEmpty(endless.GetProperty("error").GetString()));
        Assert.Equal("seen", json.RootElement.GetProperty("decision").GetProperty("tag")[0].GetString());
        Assert.Single(json.RootElement.GetProperty("errors").EnumerateArray());
    }

    [Fact]
    public void The_config_sets_the_javascript_limits()
    {
        Directory.CreateDirectory(_work.File("rules"));
        File.WriteAllText(_work.File("rules/10-loop.js"), "function decide(message) { var n = 0; for (var i = 0; i < 5000; i++) { n += i; } return { tag: 'done' }; }\n");
        // check opens the store's private keys (a locked store is refused), so the sample's passphrase file is named.
        File.WriteAllText(_work.File("rulemail.yaml"), $"keystore: {Path.Combine(_root, "keystore-sample")}\nkeystore_passphrase_file: {Path.Combine(_root, "keystore-sample", "passphrase.txt")}\nrules: rules\njavascript:\n  max_statements: 1000\n");
        File.WriteAllText(_work.File("in.eml"), "From: alice@customer.test\r\nTo: support@rulemail.test\r\nSubject: hi\r\n\r\nhello\r\n");
        File.WriteAllText(_work.File("bad.yaml"), "javascript:\n  timeout_ms: 0\n");

        var limited = CliRun.Run(_work.Path, null, "check", "in.eml", "--json");
        var bad = CliRun.Run(_work.Path, null, "rules", "lint", "--config", "bad.yaml");

        Assert.Equal(0, limited.ExitCode);
        using var json = JsonDocument.Parse(limited.Output);
        var loop = json.RootElement.GetProperty("rules").EnumerateArray().Single();
        Assert.Contains("statement limit reached", loop.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, bad.ExitCode);
        Assert.Contains("javascript limits out of range", Assert.Single(bad.ErrorLines), StringComparison.Ordinal);
    }

    public void Dispose() => _work.Dispose();
}
