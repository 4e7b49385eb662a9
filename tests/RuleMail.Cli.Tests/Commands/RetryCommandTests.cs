using System.Text.Json;
using RuleMail.Cli.Tests.Support;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Cli.Tests.Commands;

/// <summary>
/// <c>rulemail retry</c> on a copy of the embedded default, as a new user meets it: <c>run --once</c> quarantines the
/// demo's unknown signer, <c>keys import</c> of its certificate (kept in keystore-sample/source) makes the signer
/// known, and a retry brings the message back to the Maildir's root, verified — once.
/// </summary>
public sealed class RetryCommandTests : IDisposable
{
    private const string UnknownSigner = "1764406807.M7P1.demo-smime-unknown-signer";
    private readonly TempDirectory _work = new("cli-retry");
    private readonly string _root = CliRun.RepositoryRoot();

    public RetryCommandTests()
    {
        // The tracked files, as a fresh clone has them: the sample key store (imported into here, never in the
        // repository), its source/ and demo mailbox, the shipped rules and the sample rulemail.yaml itself.
        var tracked = ExternalTool.Run("git", ["-C", _root, "ls-files", "-z", "keystore-sample", "rules", "rulemail.yaml"]).StandardOutputText;
        foreach (var file in tracked.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var target = _work.File(file);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllBytes(target, ExternalTool.Run("git", ["-C", _root, "show", $"HEAD:{file}"]).StandardOutput);
        }
    }

    private string Mailbox => _work.File("keystore-sample/mailbox");

    [Fact]
    public void After_importing_the_strangers_certificate_its_message_is_back_in_the_inbox_verified_and_a_second_retry_changes_nothing()
    {
        Assert.Equal(0, Run("run", "--once").ExitCode);
        Assert.Single(Directory.GetFiles(Path.Combine(Mailbox, ".Quarantine", "cur"), $"{UnknownSigner}*"));
        Assert.Equal(0, Run("keys", "import", "keystore-sample/source/stranger.crt").ExitCode);

        var retry = Run("retry", "--security-failed");

        Assert.True(retry.ExitCode == 0, retry.Error + retry.Output);
        Assert.Equal(string.Empty, retry.Error);
        Assert.Contains($"⚠️✅ → ✅  Urgent  <stranger@unknown.test>  [{UnknownSigner}]", retry.Output, StringComparison.Ordinal);
        Assert.Contains("Signed by stranger@unknown.test", retry.Output, StringComparison.Ordinal);
        Assert.Contains("decision: nothing (was: flag security-failed; move Quarantine; tag security-failed; stop)", retry.Output, StringComparison.Ordinal);
        // The shipped rules ask for no webhook or notice: the keyword comes off and the message goes home, nothing more.
        Assert.Contains("      done: unflag security-failed: done; move INBOX: done\n", retry.Output, StringComparison.Ordinal);
        Assert.Matches(@"demo\s+8\s+1\s+7\s+0\s+0\s+ok", retry.Output);
        Assert.Equal([$"{UnknownSigner}:2,"], Directory.GetFiles(Path.Combine(Mailbox, "cur")).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')));
        Assert.Empty(Directory.GetFiles(Path.Combine(Mailbox, ".Quarantine", "cur"), $"{UnknownSigner}*"));
        Assert.Equal(7, Directory.GetFiles(Path.Combine(Mailbox, ".Quarantine", "cur")).Length);

        var check = Run("check", Path.Combine(Mailbox, "cur", $"{UnknownSigner}:2,"), "--json");
        using (var json = JsonDocument.Parse(check.Output))
        {
            Assert.True(json.RootElement.GetProperty("security").GetProperty("sign").GetProperty("success").GetBoolean());
        }

        var mailbox = MailboxFiles();
        var again = Run("retry", "--security-failed");
        var run = Run("run", "--once");

        Assert.Equal(0, again.ExitCode);
        Assert.DoesNotContain(UnknownSigner, again.Output, StringComparison.Ordinal); // It no longer fails: not selected.
        Assert.DoesNotContain("→", again.Output, StringComparison.Ordinal);
        Assert.Matches(@"demo\s+7\s+0\s+7\s+0\s+0\s+ok", again.Output);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("nothing new", run.Output, StringComparison.Ordinal);
        Assert.Equal(mailbox, MailboxFiles());
    }

    [Fact]
    public void Retry_json_is_one_object_with_each_message_before_and_after_and_a_summary()
    {
        Run("run", "--once");
        Run("keys", "import", "keystore-sample/source/stranger.crt");

        var result = Run("retry", "--json");

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output);
        var root = json.RootElement;
        var summary = root.GetProperty("summary");
        Assert.Equal((8, 1, 7, 0, 0), (summary.GetProperty("judged").GetInt32(), summary.GetProperty("changed").GetInt32(),
            summary.GetProperty("unchanged").GetInt32(), summary.GetProperty("skipped").GetInt32(), summary.GetProperty("failed").GetInt32()));
        var message = root.GetProperty("messages").EnumerateArray().Single(m => m.GetProperty("source_key").GetString() == UnknownSigner);
        Assert.Equal("changed", message.GetProperty("outcome").GetString());
        Assert.Equal((1, 2), (message.GetProperty("analysis").GetProperty("before").GetInt32(), message.GetProperty("analysis").GetProperty("after").GetInt32()));
        Assert.False(message.GetProperty("security").GetProperty("before").GetProperty("sign").GetProperty("success").GetBoolean());
        Assert.True(message.GetProperty("security").GetProperty("after").GetProperty("sign").GetProperty("success").GetBoolean());
        Assert.Equal("Quarantine", message.GetProperty("decision").GetProperty("before").GetProperty("move").GetString());
        Assert.Empty(message.GetProperty("decision").GetProperty("after").EnumerateObject());
        Assert.Equal("INBOX", message.GetProperty("location").GetProperty("folder").GetString());
        Assert.Equal(["unflag security-failed: done", "move INBOX: done"], message.GetProperty("actions").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("done", message.GetProperty("state").GetString());
        Assert.Empty(root.GetProperty("not_found").EnumerateArray());
    }

    [Fact]
    public void A_message_picked_by_key_is_judged_again_even_when_it_passed_and_a_key_nobody_has_is_exit_4()
    {
        Run("run", "--once");

        var known = Run("retry", "--message", "1764406802.M2P1.demo-smime-signed");
        var unknown = Run("retry", "--message", "no-such-message");

        Assert.Equal(0, known.ExitCode);
        Assert.Contains("unchanged (analysis 1): This message’s signature has been successfully verified.", known.Output, StringComparison.Ordinal);
        Assert.Equal(4, unknown.ExitCode);
        Assert.Contains("[no-such-message]: no processed message has this key", unknown.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void An_account_the_config_does_not_have_is_bad_usage()
    {
        var result = Run("retry", "--account", "nobody");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("rulemail: --account nobody: no account of that name fetches mail (accounts that do: demo)", Assert.Single(result.ErrorLines));
    }

    public void Dispose() => _work.Dispose();

    private CliResult Run(params string[] args) => CliRun.Run(_work.Path, null, args);

    /// <summary>Every file of the demo Maildir (folders included), by path relative to it.</summary>
    private List<string> MailboxFiles() =>
        [.. Directory.GetFiles(Mailbox, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Mailbox, f)).Order(StringComparer.Ordinal)];
}
