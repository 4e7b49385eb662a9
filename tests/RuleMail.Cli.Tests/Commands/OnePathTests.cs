using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using MimeKit;
using RuleMail.Cli.Tests.Support;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Cli.Tests.Commands;

/// <summary>
/// One path through the product: <c>check</c> and the host's fetch give the same security result and decision for the
/// same message, and <c>compose</c>, <c>options</c> and the host's outbox give the same plan for the same mail — with
/// rules that look at what front ends used to disagree on (the account, the size, the Bcc recipients).
/// </summary>
public sealed class OnePathTests : IDisposable
{
    private const string Support = "support@rulemail.test";
    private readonly TempDirectory _work = new("cli-one-path");
    private readonly string _root = CliRun.RepositoryRoot();

    public OnePathTests()
    {
        var tracked = ExternalTool.Run("git", ["-C", _root, "ls-files", "-z", "keystore-sample/mailbox"]).StandardOutputText;
        foreach (var file in tracked.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var target = _work.File(Path.GetRelativePath("keystore-sample", file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllBytes(target, ExternalTool.Run("git", ["-C", _root, "show", $"HEAD:{file}"]).StandardOutput);
        }

        Directory.CreateDirectory(_work.File("rules"));
        foreach (var rule in Directory.GetFiles(Path.Combine(_root, "rules"), "*.yaml"))
        {
            File.Copy(rule, _work.File(Path.Combine("rules", Path.GetFileName(rule))));
        }

        // Before the shipped quarantine rule (which stops), so it judges every message: the account and the size matter.
        File.WriteAllText(_work.File("rules/05-account-and-size.yaml"), """
            rules:
              - name: large-mail-for-support
                on: incoming
                when:
                  all:
                    - account: support@rulemail.test
                    - size: {gt: 2000}
                then:
                  tag: large
              - name: outgoing-with-content
                on: outgoing
                when:
                  size: {gt: 100}
                then:
                  header: {X-Desk: support}
              - name: outgoing-from-support
                on: outgoing
                when:
                  all:
                    - account: support@rulemail.test
                    - not: {bcc.address: audit@rulemail.test}
                then:
                  sign: never
                  encrypt: preferred
                  stop: true
            """);
        File.WriteAllText(_work.File("rulemail.yaml"), $"""
            keystore: {Path.Combine(_root, "keystore-sample")}
            keystore_passphrase_file: {Path.Combine(_root, "keystore-sample", "passphrase.txt")}
            rules: rules
            state: state/state.db
            accounts:
              - name: demo
                address: {Support}
                fetch:
                  maildir: mailbox
                send:
                  outbox: outbox
                  pickup: pickup
            """);
    }

    [Fact]
    public void Check_and_the_hosts_fetch_give_every_demo_message_the_same_security_result_and_decision()
    {
        var checks = Directory.GetFiles(_work.File("mailbox/new")).ToDictionary(
            file => Path.GetFileName(file),
            file =>
            {
                var result = CliRun.Run(_work.Path, null, "check", "--account", "demo", "--json", file);
                Assert.True(result.ExitCode == 0, result.Error);
                return JsonNode.Parse(result.Output)!;
            });
        Assert.Contains(checks.Values, c => c["decision"]!["tag"]!.AsArray().Any(t => (string?)t == "large"));
        Assert.Contains(checks.Values, c => !c["decision"]!["tag"]!.AsArray().Any(t => (string?)t == "large"));

        var run = CliRun.Run(_work.Path, null, "run", "--once");
        Assert.True(run.ExitCode == 0, run.Error + run.Output);

        var recorded = Ledger();
        Assert.Equal(checks.Keys.Order(StringComparer.Ordinal), recorded.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, check) in checks)
        {
            Assert.True(JsonNode.DeepEquals(check["security"], recorded[key].Security), $"{key}: check said {check["security"]}, the host {recorded[key].Security}");
            Assert.True(JsonNode.DeepEquals(check["decision"], recorded[key].Decision), $"{key}: check said {check["decision"]}, the host {recorded[key].Decision}");
        }
    }

    [Fact]
    public void Compose_options_and_the_hosts_outbox_make_the_same_plan_for_the_same_mail()
    {
        var options = CliRun.Run(_work.Path, null, "options", "--from", Support, "--to", "alice@customer.test", "--json");
        var composed = CliRun.Run(_work.Path, null, "compose", "--from", Support, "--to", "alice@customer.test",
            "--subject", "Your ticket", "--body", "We have looked into it and found the cause.", "--out", "composed.eml");
        Assert.True(composed.ExitCode == 0, composed.Error);
        var composedMessage = MimeMessage.Load(_work.File("composed.eml"));

        Directory.CreateDirectory(_work.File("outbox"));
        var submitted = new MimeMessage();
        submitted.From.Add(MailboxAddress.Parse(Support));
        submitted.To.Add(MailboxAddress.Parse("alice@customer.test"));
        submitted.Subject = "Your ticket";
        submitted.Body = new TextPart("plain") { Text = "We have looked into it and found the cause." };
        submitted.WriteTo(_work.File("outbox/0001.eml"));
        var run = CliRun.Run(_work.Path, null, "run", "--once");
        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        var sent = MimeMessage.Load(Assert.Single(Directory.GetFiles(_work.File("pickup"), "*.eml")));

        // The rules saw the account (the one it goes out from) everywhere — options too — and the size of the message as
        // it is sent in compose and the outbox (a draft's buttons have no content to measure): not signed, the desk header set.
        Assert.Equal(0, options.ExitCode);
        var buttons = JsonNode.Parse(options.Output)!;
        Assert.False((bool)buttons["sign"]!["active"]!);
        Assert.True((bool)buttons["encrypt"]!["active"]!);
        foreach (var message in new[] { composedMessage, sent })
        {
            Assert.Equal("support", message.Headers["X-Desk"]);
            var body = Assert.IsAssignableFrom<MimeEntity>(message.Body);
            Assert.Equal("application/pkcs7-mime", body.ContentType.MimeType);
            Assert.Equal("enveloped-data", body.ContentType.Parameters["smime-type"]);
        }

        Assert.Contains("encrypted with S/MIME, not signed", composed.Output, StringComparison.Ordinal);
        Assert.Contains("sent: encrypted with S/MIME, not signed", run.Output, StringComparison.Ordinal);
    }

    public void Dispose() => _work.Dispose();

    private Dictionary<string, (JsonNode? Security, JsonNode? Decision)> Ledger()
    {
        using var connection = new SqliteConnection($"Data Source={_work.File("state/state.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT source_key, security_json, decision_json FROM message";
        using var reader = command.ExecuteReader();
        var entries = new Dictionary<string, (JsonNode?, JsonNode?)>(StringComparer.Ordinal);
        while (reader.Read())
        {
            entries[reader.GetString(0)] = (JsonNode.Parse(reader.GetString(1)), JsonNode.Parse(reader.GetString(2)));
        }

        return entries;
    }
}
