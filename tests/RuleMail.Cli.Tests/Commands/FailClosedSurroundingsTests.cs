using RuleMail.Cli.Tests.Support;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Cli.Tests.Commands;

/// <summary>
/// The surroundings that once let the real host run on an empty or partial view (found by an attacker's review): a
/// missing or empty rules folder or policy file, a folder that is no key store, a store sub-folder replaced by a file or
/// a broken link, a damaged private-key file. Each stops <c>rulemail run</c> with exit 3 and one line, recording nothing.
/// </summary>
public sealed class FailClosedSurroundingsTests : IDisposable
{
    private const int DemoMessages = 13;
    private readonly TempDirectory _work = new("cli-fail-closed-surroundings");
    private readonly string _root = CliRun.RepositoryRoot();

    public FailClosedSurroundingsTests()
    {
        var tracked = ExternalTool.Run("git", ["-C", _root, "ls-files", "-z", "keystore-sample/mailbox", "rules"]).StandardOutputText;
        foreach (var file in tracked.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var relative = file.StartsWith("rules/", StringComparison.Ordinal) ? file : Path.GetRelativePath("keystore-sample", file);
            var target = _work.File(relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllBytes(target, ExternalTool.Run("git", ["-C", _root, "show", $"HEAD:{file}"]).StandardOutput);
        }

        Directory.CreateDirectory(_work.File("mailbox/cur"));
        Directory.CreateDirectory(_work.File("mailbox/tmp"));
        ExternalTool.Run("cp", ["-r", Path.Combine(_root, "keystore-sample"), _work.File("keystore")]);
        ExternalTool.Run("rm", ["-rf", _work.File("keystore/mailbox")]);
        WriteConfig();
    }

    private string StatePath => _work.File("state/state.db");

    /// <summary>
    /// A rules path that is not there (a typo in rulemail.yaml, a deployment that lost the folder), an empty folder, or
    /// the quarantine file emptied once let the host run with no policy (exit 0, 13 messages done for good, failed-security
    /// mail left in INBOX): now each is refused. "A policy never switches off silently."
    /// </summary>
    [Theory]
    [InlineData("missing")]
    [InlineData("empty-folder")]
    [InlineData("empty-file")]
    public void A_configured_rules_folder_that_is_missing_or_holds_no_rules_is_not_a_silent_policy_off(string how)
    {
        switch (how)
        {
            case "missing":
                WriteConfig(rules: "rulez");
                break;
            case "empty-folder":
                foreach (var file in Directory.GetFiles(_work.File("rules"), "*", SearchOption.AllDirectories))
                {
                    File.Delete(file);
                }

                break;
            default:
                File.WriteAllText(_work.File("rules/00-quarantine-failed-security.yaml"), string.Empty);
                File.Delete(_work.File("rules/50-sign-and-encrypt-when-possible.yaml"));
                break;
        }

        var result = CliRun.Run(_work.Path, null, "run", "--once");

        Assert.True(result.ExitCode == 3, $"exit {result.ExitCode}: the host ran without any rule\n{result.Output}");
        AssertNothingRecorded();
    }

    /// <summary>
    /// An empty folder (a key store on a mount that is not mounted yet, a wrong path) has no rulemail-keystore.json
    /// marker: it was once taken as a valid empty store (12 of 13 demo messages quarantined for good as "Unable to find
    /// certificate" / "private key"); now it is no key store.
    /// </summary>
    [Fact]
    public void An_empty_folder_without_the_key_store_marker_is_not_an_empty_key_store()
    {
        Directory.CreateDirectory(_work.File("empty-store"));
        WriteConfig(keystore: _work.File("empty-store"));

        var result = CliRun.Run(_work.Path, null, "run", "--once");

        Assert.True(result.ExitCode == 3, $"exit {result.ExitCode}\n{result.Output}");
        AssertNothingRecorded();
    }

    /// <summary>
    /// A sub-folder of the store replaced by a file (or a dangling symlink) once read as "not there" (ENOTDIR maps to
    /// DirectoryNotFoundException), so S/MIME mail was judged on a partial store; now it is an error.
    /// </summary>
    [Theory]
    [InlineData("file")]
    [InlineData("dangling-symlink")]
    public void A_key_store_sub_folder_that_is_not_a_folder_is_an_error_not_an_empty_part(string how)
    {
        ExternalTool.Run("rm", ["-rf", _work.File("keystore/smime")]);
        if (how == "file")
        {
            File.WriteAllText(_work.File("keystore/smime"), "x");
        }
        else
        {
            File.CreateSymbolicLink(_work.File("keystore/smime"), "/nonexistent/smime");
        }

        var result = CliRun.Run(_work.Path, null, "run", "--once");

        Assert.True(result.ExitCode == 3, $"exit {result.ExitCode}\n{result.Output}");
        AssertNothingRecorded();
    }

    /// <summary>A truncated or emptied S/MIME .key file, once an internal error (exit 1) without the file's name, is a broken key store naming it.</summary>
    [Fact]
    public void A_truncated_private_key_file_is_a_broken_key_store_with_exit_3_naming_the_file()
    {
        var key = Directory.GetFiles(_work.File("keystore/smime"), "*.key").First();
        File.WriteAllBytes(key, File.ReadAllBytes(key)[..100]);

        var result = CliRun.Run(_work.Path, null, "run", "--once");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains(Path.GetFileName(key), Assert.Single(result.ErrorLines), StringComparison.Ordinal);
        AssertNothingRecorded();
    }

    public void Dispose() => _work.Dispose();

    private void AssertNothingRecorded()
    {
        Assert.False(File.Exists(StatePath), "no state was created");
        Assert.Equal(DemoMessages, Directory.GetFiles(_work.File("mailbox/new")).Length);
        Assert.False(Directory.Exists(_work.File("mailbox/.Quarantine")), "nothing was moved");
    }

    private void WriteConfig(string? keystore = null, string rules = "rules", string every = "1h") => File.WriteAllText(_work.File("rulemail.yaml"), $"""
        keystore: {keystore ?? _work.File("keystore")}
        keystore_passphrase_file: {Path.Combine(_root, "keystore-sample", "passphrase.txt")}
        rules: {rules}
        state: state/state.db
        accounts:
          - name: demo
            address: support@rulemail.test
            fetch:
              every: {every}
              maildir: mailbox
        """);
}
