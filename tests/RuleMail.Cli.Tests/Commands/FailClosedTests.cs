using System.Diagnostics;
using RuleMail.Cli.Tests.Support;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Cli.Tests.Commands;

/// <summary>
/// The real <c>rulemail</c> command fails closed around the message: an unreadable key store, a folder that is no key
/// store, a file or broken link in place of a store sub-folder, a damaged key file, locked or wrongly unlocked private
/// keys, a rules folder with a broken file or no rules at all, a state that was emptied, replaced or lost writes, and
/// a second host on the same state file (by any name) each stop <c>run</c> at start with exit 3 and one line that
/// says what to do — and nothing is recorded, nothing fetched: the demo mailbox and the state are as they were.
/// </summary>
public sealed class FailClosedTests : IDisposable
{
    private const int DemoMessages = 13;
    private readonly TempDirectory _work = new("cli-fail-closed");
    private readonly string _root = CliRun.RepositoryRoot();

    public FailClosedTests()
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
        WriteConfig();
    }

    private string StatePath => _work.File("state/state.db");

    [Theory]
    [InlineData("smime")]
    [InlineData("")]
    [InlineData("smime/D0E605322B27305DC5E5F98499A4FDDA8A799C704C3E9E8D5CE143C98D9B955A.key")]
    public void An_unreadable_key_store_is_not_read_as_an_empty_one(string unreadable)
    {
        WriteConfig(keystore: CopyKeyStore());
        var target = _work.File(Path.Combine("keystore", unreadable));
        ExternalTool.Run("chmod", ["000", target]);
        try
        {
            var result = RunUnprivileged("run", "--once");

            Assert.True(result.ExitCode == 3, result.StandardError + result.StandardOutputText);
            var line = Assert.Single(result.StandardError.TrimEnd('\n').Split('\n'));
            Assert.Contains("cannot read the key store", line, StringComparison.Ordinal);
            Assert.Contains("give the user running rulemail read access", line, StringComparison.Ordinal);
            AssertNothingRecorded();
        }
        finally
        {
            ExternalTool.Run("chmod", ["u+rwx", target]);
        }
    }

    [Theory]
    [InlineData("run", "--once")]
    [InlineData("run")]
    [InlineData("check", "mailbox/new/1764406808.M8P1.demo-smime-signed-encrypted")]
    public void A_store_with_private_keys_and_no_passphrase_is_refused(params string[] command)
    {
        WriteConfig(passphraseFile: null);

        var result = CliRun.Run(_work.Path, null, command);

        Assert.Equal(3, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("private key(s) but no passphrase was given: set RULEMAIL_KEYSTORE_PASSPHRASE", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Unable to find private key", result.Output, StringComparison.Ordinal);
        AssertNothingRecorded();
    }

    [Theory]
    [InlineData("run", "--once")]
    [InlineData("run")]
    [InlineData("check", "mailbox/new/1764406808.M8P1.demo-smime-signed-encrypted")]
    public void A_wrong_passphrase_is_refused_before_anything_is_recorded(params string[] command)
    {
        var result = CliRun.Run(_work.Path, new Dictionary<string, string> { ["RULEMAIL_KEYSTORE_PASSPHRASE"] = "wrong" }, command);

        Assert.Equal(3, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("passphrase does not open", line, StringComparison.Ordinal);
        Assert.Contains("give the right one", line, StringComparison.Ordinal);
        AssertNothingRecorded();
    }

    [Theory]
    [InlineData("00-quarantine-failed-security.yaml", "rules:\n  - name: quarantine-failed-security\n    when: {any: [security.sign.success: false\n", @"00-quarantine-failed-security\.yaml:\d+:\d+: ")]
    [InlineData("00-quarantine-failed-security.yaml", "rules:\n  - name: quarantine-failed-security\n    then:\n      move: Quarantine\n      moov: Elsewhere\n", @"00-quarantine-failed-security\.yaml:5:13: unknown decision 'moov'")]
    [InlineData("10-broken.js", "function decide(message) { return {flag: 'x' ;\n", @"10-broken\.js:\d+:\d+: ")]
    [InlineData("10-hook.yaml", "rules:\n  - name: hook\n    then:\n      webhook: {url: 'https://t.example/h', secret: x}\n", @"10-hook\.yaml:4:45: unknown webhook setting 'secret'")]
    public void A_rules_folder_with_a_broken_file_is_refused_whole_by_run_and_check(string file, string content, string pattern)
    {
        File.WriteAllText(_work.File(Path.Combine("rules", file)), content);

        var run = CliRun.Run(_work.Path, null, "run", "--once");
        var check = CliRun.Run(_work.Path, null, "check", "mailbox/new/1764406803.M3P1.demo-smime-tampered");
        var lint = CliRun.Run(_work.Path, null, "rules", "lint");

        Assert.Equal(3, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Matches(pattern, line);
        Assert.Contains("is refused whole; fix it (rulemail rules lint lists every problem)", line, StringComparison.Ordinal);
        Assert.Equal(3, check.ExitCode);
        Assert.Matches(pattern, Assert.Single(check.ErrorLines));
        Assert.Equal(3, lint.ExitCode); // Unchanged: every problem, then a count.
        Assert.Matches(pattern, lint.ErrorLines[0]);
        AssertNothingRecorded();
    }

    [Fact]
    public void An_emptied_state_beside_its_ledger_is_refused_and_left_as_it_is()
    {
        Assert.Equal(0, CliRun.Run(_work.Path, null, "run", "--once").ExitCode);
        var mailbox = MailboxFiles();
        File.WriteAllBytes(StatePath, []);

        var result = CliRun.Run(_work.Path, null, "run", "--once");

        Assert.Equal(3, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("the state database is empty, but", line, StringComparison.Ordinal);
        Assert.Contains($"restore {StatePath} from a backup, or remove {StatePath}.id to start a new state", line, StringComparison.Ordinal);
        Assert.Empty(File.ReadAllBytes(StatePath));
        Assert.Equal(mailbox, MailboxFiles());
    }

    [Fact]
    public void A_state_replaced_by_an_older_copy_is_refused()
    {
        Assert.Equal(0, CliRun.Run(_work.Path, null, "run", "--once").ExitCode);
        File.Copy(StatePath, _work.File("backup.db"));
        File.WriteAllBytes(_work.File("mailbox/new/1764406900.M1P1.later"), File.ReadAllBytes(_work.File("mailbox/new/1764406801.M1P1.demo-plain")).Concat("\r\nlater\r\n"u8.ToArray()).ToArray());
        Assert.Equal(0, CliRun.Run(_work.Path, null, "run", "--once").ExitCode);
        File.Copy(_work.File("backup.db"), StatePath, overwrite: true);
        var mailbox = MailboxFiles();

        var result = CliRun.Run(_work.Path, null, "run", "--once");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("the state database has lost committed writes", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
        Assert.Equal(mailbox, MailboxFiles());
    }

    [Fact]
    public void A_hard_link_to_the_state_of_a_running_host_is_refused()
    {
        using var host = StartHost();
        ExternalTool.Run("ln", [StatePath, _work.File("state/link.db")]);
        File.WriteAllText(_work.File("second.yaml"), File.ReadAllText(_work.File("rulemail.yaml")).Replace("state: state/state.db", "state: state/link.db", StringComparison.Ordinal));

        var result = CliRun.Run(_work.Path, null, "--config", "second.yaml", "run", "--once");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("another rulemail run is using this state database (under this or another name, such as a hard link)", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
        Assert.False(File.Exists(_work.File("state/link.db.id")));
    }

    [Fact]
    public void A_retry_while_a_host_runs_on_the_state_is_refused_with_exit_3_and_says_why()
    {
        using var host = StartHost();

        var result = CliRun.Run(_work.Path, null, "retry", "--security-failed");

        Assert.Equal(3, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("rulemail: cannot retry while a host runs on this state", line, StringComparison.Ordinal);
        Assert.Contains("another rulemail run is using this state database", line, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Output); // Refused before it judged or printed anything.
    }

    [Fact]
    public void Check_judges_an_unparseable_message_as_damaged_with_exit_0()
    {
        File.WriteAllBytes(_work.File("empty.eml"), []);

        var result = CliRun.Run(_work.Path, null, "check", "empty.eml", "--json", "--out", "view.eml");

        Assert.True(result.ExitCode == 0, result.Error);
        using var json = System.Text.Json.JsonDocument.Parse(result.Output);
        var sign = json.RootElement.GetProperty("security").GetProperty("sign");
        Assert.False(sign.GetProperty("success").GetBoolean());
        Assert.Contains("damaged", sign.GetProperty("comment").GetString(), StringComparison.Ordinal);
        Assert.True(File.Exists(_work.File("view.eml")));
    }

    public void Dispose() => _work.Dispose();

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
        WriteConfig(keystore: CopyKeyStore());
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
        WriteConfig(keystore: CopyKeyStore());
        var key = Directory.GetFiles(_work.File("keystore/smime"), "*.key").First();
        File.WriteAllBytes(key, File.ReadAllBytes(key)[..100]);

        var result = CliRun.Run(_work.Path, null, "run", "--once");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains(Path.GetFileName(key), Assert.Single(result.ErrorLines), StringComparison.Ordinal);
        AssertNothingRecorded();
    }

    private void AssertNothingRecorded()
    {
        Assert.False(File.Exists(StatePath), "no state was created");
        Assert.Equal(DemoMessages, Directory.GetFiles(_work.File("mailbox/new")).Length);
        Assert.False(Directory.Exists(_work.File("mailbox/.Quarantine")), "nothing was moved");
    }

    private string[] MailboxFiles() =>
        [.. Directory.GetFiles(_work.File("mailbox"), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_work.Path, f)).Order(StringComparer.Ordinal)];

    /// <summary>A copy of the sample key store (without its demo mailbox) in the test folder, for tests that damage it; its path.</summary>
    private string CopyKeyStore()
    {
        ExternalTool.Run("cp", ["-r", Path.Combine(_root, "keystore-sample"), _work.File("keystore")]);
        ExternalTool.Run("rm", ["-rf", _work.File("keystore/mailbox")]);
        return _work.File("keystore");
    }

    private void WriteConfig(string? keystore = null, string? passphraseFile = "default", string rules = "rules") => File.WriteAllText(_work.File("rulemail.yaml"), $"""
        keystore: {keystore ?? Path.Combine(_root, "keystore-sample")}
        {(passphraseFile is null ? string.Empty : $"keystore_passphrase_file: {Path.Combine(_root, "keystore-sample", "passphrase.txt")}")}
        rules: {rules}
        state: state/state.db
        accounts:
          - name: demo
            address: support@rulemail.test
            fetch:
              every: 1h
              maildir: mailbox
        """);

    /// <summary>
    /// The real process without the capabilities that let root read anything (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
    /// file permissions then hold for it as they do for the unprivileged user a service runs as.
    /// </summary>
    private ToolResult RunUnprivileged(params string[] args)
    {
        var executable = Path.Combine(AppContext.BaseDirectory, "rulemail.dll");
        var options = new ToolOptions { WorkingDirectory = _work.Path };
        if (Environment.UserName != "root")
        {
            return ExternalTool.TryRun("dotnet", [executable, .. args], options);
        }

        const string drop = "-dac_override,-dac_read_search";
        return ExternalTool.TryRun("setpriv", [$"--inh-caps={drop}", $"--bounding-set={drop}", "--", "dotnet", executable, .. args], options);
    }

    /// <summary>The real host in its scheduled mode, started and waited for until it runs on its state.</summary>
    private RunningHost StartHost()
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "rulemail.dll"), "run"])
        {
            WorkingDirectory = _work.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.StartsWith("Running the schedules", StringComparison.Ordinal) == true)
            {
                running.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!running.Task.Wait(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException("the host did not start within 60 s");
        }

        return new RunningHost(process);
    }

    /// <summary>Kills the host when the test ends.</summary>
    private sealed class RunningHost(Process process) : IDisposable
    {
        public void Dispose()
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            process.Dispose();
        }
    }
}
