using RuleMail.Cli.Tests.Support;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Cli.Tests.Commands;

/// <summary>
/// <c>rulemail run --once</c> on a copy of the embedded default (sample store, shipped rules, the demo Maildir,
/// SQLite state): what the README's main command shows, and its bad-input paths.
/// </summary>
public sealed class RunCommandTests : IDisposable
{
    private readonly TempDirectory _work = new("cli-run");
    private readonly string _root = CliRun.RepositoryRoot();

    public RunCommandTests()
    {
        // The tracked files only (git ls-files), as a fresh clone has them: git keeps no empty folders.
        var tracked = Core.Tests.Support.ExternalTool.Run("git", ["-C", _root, "ls-files", "-z", "keystore-sample/mailbox"]).StandardOutputText;
        foreach (var file in tracked.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var target = _work.File(Path.GetRelativePath(Path.Combine("keystore-sample"), file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllBytes(target, Core.Tests.Support.ExternalTool.Run("git", ["-C", _root, "show", $"HEAD:{file}"]).StandardOutput);
        }
        WriteConfig($"""
            accounts:
              - name: demo
                address: support@rulemail.test
                fetch:
                  maildir: mailbox
            """);
    }

    [Fact]
    public void The_demo_prints_every_message_with_its_icons_reason_and_decision_then_a_table()
    {
        var result = CliRun.Run(_work.Path, null, "run", "--once");

        Assert.True(result.ExitCode == 0, result.Error + result.Output);
        Assert.Equal(string.Empty, result.Error);
        Assert.Contains("private keys: 2, all unlocked", result.Output, StringComparison.Ordinal);
        Assert.Contains("🔒 ✅  Contract  <carol@both.test>", result.Output, StringComparison.Ordinal);
        Assert.Contains("⚠️✅  New delivery address  <alice@customer.test>", result.Output, StringComparison.Ordinal);
        Assert.Contains("Unable to find private key to decrypt", result.Output, StringComparison.Ordinal);
        Assert.Contains("Unable to find certificate for validation", result.Output, StringComparison.Ordinal);
        Assert.Contains("decision: flag security-failed; move Quarantine; tag security-failed; stop", result.Output, StringComparison.Ordinal);
        Assert.Matches(@"demo\s+13\s+2\s+2\s+4\s+6\s+1\s+0\s+0\s+-\s+-\s+ok", result.Output);
        Assert.Equal(8, Directory.GetFiles(_work.File("mailbox/.Quarantine/cur")).Length);
        Assert.Equal(5, Directory.GetFiles(_work.File("mailbox/new")).Length);
    }

    [Fact]
    public void A_second_run_reports_nothing_new()
    {
        CliRun.Run(_work.Path, null, "run", "--once");

        var again = CliRun.Run(_work.Path, null, "run", "--once");

        Assert.Equal(0, again.ExitCode);
        Assert.Contains("nothing new", again.Output, StringComparison.Ordinal);
        Assert.Matches(@"demo\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+0", again.Output);
    }

    [Fact]
    public void An_unreachable_server_is_exit_4_with_the_reason_and_a_later_run_can_pick_up()
    {
        WriteConfig("""
            accounts:
              - name: support
                address: support@rulemail.test
                fetch:
                  imap: {host: 127.0.0.1, port: 1, security: none, user: support, password_env: SUPPORT_PASSWORD}
            """);

        var result = CliRun.Run(_work.Path, new Dictionary<string, string> { ["SUPPORT_PASSWORD"] = "x" }, "run", "--once");

        Assert.Equal(4, result.ExitCode);
        Assert.Contains("imap 127.0.0.1:1 (support): connection refused", result.Output, StringComparison.Ordinal);
        Assert.Contains("unreachable", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_password_variable_is_bad_input_before_anything_runs()
    {
        WriteConfig("""
            accounts:
              - name: support
                address: support@rulemail.test
                fetch:
                  imap: {host: 127.0.0.1, port: 1, security: none, user: support, password_env: SUPPORT_PASSWORD}
            """);

        var result = CliRun.Run(_work.Path, null, "run", "--once");

        Assert.Equal(3, result.ExitCode);
        Assert.Equal("rulemail: imap 127.0.0.1:1: the password variable SUPPORT_PASSWORD is not set", Assert.Single(result.ErrorLines));
    }

    [Theory]
    [InlineData("fetch: {every: 30s}", "fetch needs exactly one of imap, pop3 or maildir")]
    [InlineData("fetch: {maildir: m, every: soon}", "every 'soon' is not an interval")]
    [InlineData("fetch: {maildir: m, cron: 'not cron'}", "is not a Quartz cron expression")]
    [InlineData("fetch: {imap: {host: h, port: 993, user: u}}", "a user needs password_env")]
    [InlineData("fetch: {imap: {host: h, port: 993, security: ssl}}", "security must be none, starttls or tls")]
    [InlineData("send: {pickup: p}", "send needs an outbox folder")]
    [InlineData("send: {outbox: o}", "send needs exactly one of smtp or pickup")]
    public void Invalid_accounts_are_one_clear_line_naming_the_account(string block, string message)
    {
        WriteConfig($"""
            accounts:
              - name: support
                address: support@rulemail.test
                {block}
            """);

        var result = CliRun.Run(_work.Path, null, "run", "--once");

        Assert.Equal(3, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("account support", line, StringComparison.Ordinal);
        Assert.Contains(message, line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""
        accounts:
          - {name: a, address: a@rulemail.test, send: {outbox: out, pickup: p1}}
          - {name: b, address: b@rulemail.test, send: {outbox: out, pickup: p2}}
        """, "account b: send.outbox and account a: send.outbox are the same folder")]
    [InlineData("""
        accounts:
          - {name: a, address: a@rulemail.test, send: {outbox: out, pickup: out}}
        """, "account a: send.pickup and account a: send.outbox are the same folder")]
    [InlineData("""
        accounts:
          - {name: a, address: a@rulemail.test, fetch: {imap: {host: mail.example.org, port: 143, security: none, user: a, password_env: PW}}}
        """, "security none would send the password in clear to mail.example.org")]
    [InlineData("""
        accounts:
          - name: a
            address: a@rulemail.test
            fetch: {imap: {host: 127.0.0.1, port: 143, security: none, user: a, password_env: PW, folder: INBOX}}
            send: {outbox: out, pickup: p, sent_folder: inbox}
        """, "send.sent_folder is the folder fetch reads")]
    public void Configurations_that_would_double_or_leak_are_refused(string accounts, string message)
    {
        WriteConfig(accounts);

        var result = CliRun.Run(_work.Path, new Dictionary<string, string> { ["PW"] = "x" }, "run", "--once");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains(message, Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_store_passphrase_is_exit_3()
    {
        var result = CliRun.Run(_work.Path, new Dictionary<string, string> { ["RULEMAIL_KEYSTORE_PASSPHRASE"] = "wrong" }, "run", "--once");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("passphrase does not open", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public void Logs_go_to_stderr_and_log_json_writes_one_JSON_object_per_line()
    {
        var executable = Path.Combine(AppContext.BaseDirectory, "rulemail.dll");

        var result = ExternalTool.TryRun("dotnet", [executable, "run", "--once", "--verbose", "--log", "json"],
            new ToolOptions { WorkingDirectory = _work.Path });

        Assert.Equal(0, result.ExitCode);
        var lines = result.StandardError.TrimEnd('\n').Split('\n');
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            using var json = System.Text.Json.JsonDocument.Parse(line);
            Assert.True(json.RootElement.TryGetProperty("LogLevel", out _), line);
        }

        Assert.Contains(lines, l => l.Contains("demo-smime-tampered", StringComparison.Ordinal));
        Assert.Contains("demo      13", result.StandardOutputText, StringComparison.Ordinal);
    }

    public void Dispose() => _work.Dispose();

    private void WriteConfig(string accounts) => File.WriteAllText(_work.File("rulemail.yaml"), $"""
        keystore: {Path.Combine(_root, "keystore-sample")}
        keystore_passphrase_file: {Path.Combine(_root, "keystore-sample", "passphrase.txt")}
        rules: {Path.Combine(_root, "rules")}
        state: state/state.db
        {accounts}
        """);
}
