using System.Diagnostics;
using RuleMail.Cli.Tests.Support;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Cli.Tests.Commands;

/// <summary>
/// Hostile review 2 (issue 10, "Fail closed around the message"): surroundings that still let the real host run on an
/// empty or partial view, or on a state that silently went back. Each test states what the README and issue 10 promise;
/// they FAIL on the code reviewed (wt-review2 at 8c6a597) and pass once the finding is fixed. Filter them with
/// <c>--filter Category!=Review2Findings</c> until then.
/// </summary>
[Trait("Category", "Review2Findings")]
public sealed class FailClosedReview2Tests : IDisposable
{
    private const int DemoMessages = 13;
    private readonly TempDirectory _work = new("cli-fail-closed-review2");
    private readonly string _root = CliRun.RepositoryRoot();

    public FailClosedReview2Tests()
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
    /// Finding 1: a rules path that is not there (a typo in rulemail.yaml, a deployment that lost the folder), an empty
    /// folder, or the quarantine file emptied: the host runs with no policy, exit 0, and records 13 messages done for
    /// good — failed-security mail stays in INBOX. "A policy never switches off silently."
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
    /// Finding 2: an empty folder (a key store on a mount that is not mounted yet, a wrong path) has no
    /// rulemail-keystore.json marker and no entries, and is taken as a valid empty store: exit 0, 12 of 13 demo
    /// messages quarantined for good as "Unable to find certificate" / "private key".
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
    /// Finding 3: a sub-folder of the store replaced by a file (or a dangling symlink) reads as "not there", i.e. no
    /// S/MIME entries at all (ENOTDIR maps to DirectoryNotFoundException): exit 0, S/MIME mail judged on a partial store.
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

    /// <summary>Finding 4: a truncated or emptied S/MIME .key file is "internal error (ArgumentException)", exit 1, without the file's name.</summary>
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

    /// <summary>
    /// Finding 5: the one-host lock is by file identity, but SQLite's -wal and state.db.id are by name. After a crash
    /// leaves state.db-wal behind, a host whose config names a hard link of the same file sees only the main file (a
    /// fresh database, no .id beside its name): it starts a new ledger on top and processes the demo mailbox again;
    /// the first name's -wal later overwrites the second's pages.
    /// </summary>
    [Fact]
    public void A_hard_link_to_a_crashed_hosts_state_is_refused_not_taken_as_new()
    {
        using (var host = StartHost())
        {
            host.WaitUntil(() => Directory.Exists(_work.File("mailbox/.Quarantine/cur")) && Directory.GetFiles(_work.File("mailbox/.Quarantine/cur")).Length == 8);
            Thread.Sleep(500);
            host.Kill();
        }

        Assert.True(File.Exists(StatePath + "-wal"), "the killed host left its -wal");
        ExternalTool.Run("ln", [StatePath, _work.File("state/link.db")]);
        File.WriteAllText(_work.File("second.yaml"), File.ReadAllText(_work.File("rulemail.yaml")).Replace("state: state/state.db", "state: state/link.db", StringComparison.Ordinal));

        var result = CliRun.Run(_work.Path, null, "--config", "second.yaml", "run", "--once");

        Assert.True(result.ExitCode == 3, $"exit {result.ExitCode}: the second name was taken as a new state\n{result.Output}");
    }

    /// <summary>
    /// Finding 6: the running host never re-reads the key store. Trust withdrawn (a trust anchor and the signer's certificate removed ; a CRL imported the same) while it runs
    /// is ignored until restart: mail keeps being reported "signature verified" while `rulemail check` says it fails.
    /// </summary>
    [Fact]
    public void A_trust_anchor_removed_while_the_host_runs_is_applied_to_the_next_messages()
    {
        WriteConfig(every: "1s");
        var later = Directory.GetFiles(_work.File("mailbox/new"));
        Directory.CreateDirectory(_work.File("later"));
        foreach (var file in later)
        {
            File.Move(file, _work.File(Path.Combine("later", Path.GetFileName(file))));
        }

        using var host = StartHost();
        var list = CliRun.Run(_work.Path, null, "keys", "list", "--json");
        using var keys = System.Text.Json.JsonDocument.Parse(list.Output);
        // The CA and alice's own certificate (a person's imported certificate is trusted for her own signatures).
        var withdrawn = keys.RootElement.GetProperty("keys").EnumerateArray()
            .Where(k => (k.TryGetProperty("trust_anchor", out var t) && t.GetBoolean())
                || (k.GetProperty("kind").GetString() == "smime" && k.GetProperty("addresses").EnumerateArray().Any(a => a.GetString() == "alice@customer.test")))
            .Select(k => k.GetProperty("fingerprint").GetString()!).ToList();
        Assert.Equal(2, withdrawn.Count);
        foreach (var fingerprint in withdrawn)
        {
            Assert.Equal(0, CliRun.Run(_work.Path, null, "keys", "remove", fingerprint).ExitCode);
        }

        const string signed = "1764406802.M2P1.demo-smime-signed";
        var check = CliRun.Run(_work.Path, null, "check", Path.Combine("later", signed));
        Assert.True(check.Output.Contains("Unable to find certificate for validation", StringComparison.Ordinal), check.Output + check.Error);

        File.Move(_work.File(Path.Combine("later", signed)), _work.File(Path.Combine("mailbox/new", signed)));

        // Judged once the ledger has it done; the shipped policy then has quarantined a failed signature.
        string Judged() => ExternalTool.Run("sqlite3", ["-readonly", StatePath, $"select state || ' ' || security_json from message where source_key = '{signed}'"]).StandardOutputText.Trim();
        host.WaitUntil(() => Judged().StartsWith("done ", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        var judged = Judged();
        Assert.DoesNotContain("\"sign\":{\"success\":true", judged, StringComparison.Ordinal);
        Assert.Contains("Unable to find certificate for validation", judged, StringComparison.Ordinal);
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

    private RunningHost StartHost()
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "rulemail.dll"), "run"])
        {
            WorkingDirectory = _work.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var running = new TaskCompletionSource();
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

    private sealed class RunningHost(Process process) : IDisposable
    {
        public bool Exited => process.HasExited;

        public void WaitUntil(Func<bool> condition, TimeSpan? timeout = null)
        {
            var clock = Stopwatch.StartNew();
            var limit = timeout ?? TimeSpan.FromSeconds(60);
            while (!condition())
            {
                Assert.False(Exited, "the host exited");
                Assert.True(clock.Elapsed < limit, "the condition was not met in time");
                Thread.Sleep(100);
            }
        }

        /// <summary>SIGKILL: no checkpoint, the -wal stays.</summary>
        public void Kill()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
        }

        public void Dispose()
        {
            Kill();
            process.Dispose();
        }
    }
}
