using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RuleMail.Core.Tests.Support;
using RuleMail.Host.Configuration;
using RuleMail.Host.Scheduling;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Keys;
using RuleMail.Rules;

namespace RuleMail.Host.Tests.Scheduling;

/// <summary>
/// A running host follows its files: an edited rule file, a certificate imported by another process, a damaged key
/// file and SIGHUP each give one reload after the folders were quiet for the debounce time (on the test's clock); a
/// broken edit keeps the last good rules and the log line says where it is broken.
/// </summary>
[Collection(Support.PostgresTests.Name)] // Not beside the cluster tests, which pause and kill processes of their own.
public sealed class LiveReloadTests : IDisposable
{
    private const string RuleFile = "70-live.yaml";
    private const string FilePassphrase = "colleague-p12-passphrase";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly HostHarness _harness = HostHarness.Create();
    private readonly LogLines<LiveReload> _log = new();

    public LiveReloadTests()
    {
        // An account that fetches: the host then also refuses rules that judge no incoming mail.
        _harness.AddMaildirAccount();
        _harness.AddRule(RuleFile, TagRule("before"));
    }

    [Fact]
    public async Task An_edited_rule_file_is_in_force_after_the_debounced_reload()
    {
        await using var runtime = await _harness.OpenAsync();
        using var reload = await StartAsync(runtime);
        var before = runtime.Services.Rules;
        Assert.Equal(["before"], TagsOf(before));

        var report = await AfterChangeAsync(reload, () => _harness.AddRule(RuleFile, TagRule("after")));

        Assert.Equal(ReloadOutcome.Reloaded, report.Rules);
        Assert.Equal(ReloadOutcome.Unchanged, report.Keys);
        Assert.NotSame(before, runtime.Services.RuleSource.Current);
        Assert.Equal(["after"], TagsOf(runtime.Services.Rules));
        var line = Assert.Single(ReloadLines());
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Equal("rules reloaded: 3 rules in 3 files (was 3 in 3) [files changed]", line.Text);
    }

    [Theory]
    [InlineData("rules:\n  - name: live\n    on: incoming\n    thne:\n      tag: after\n", "rules/70-live.yaml:4:5: unknown key 'thne'")]
    [InlineData("rules:\n  - name: live\n    on: incoming\n    then: {tag: [after\n", "rules/70-live.yaml:5:1: While parsing a flow sequence")]
    public async Task A_broken_edit_keeps_the_last_good_rules_and_the_log_line_says_where_until_it_is_fixed(string broken, string where)
    {
        await using var runtime = await _harness.OpenAsync();
        using var reload = await StartAsync(runtime);
        var good = runtime.Services.Rules;

        var refused = await AfterChangeAsync(reload, () => _harness.AddRule(RuleFile, broken));

        Assert.Equal(ReloadOutcome.Refused, refused.Rules);
        Assert.Same(good, runtime.Services.Rules);
        Assert.Equal(["before"], TagsOf(runtime.Services.Rules));
        var line = Assert.Single(ReloadLines());
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.StartsWith($"rules edit refused, keeping the last good rules: {where}", line.Text, StringComparison.Ordinal);

        var repaired = await AfterChangeAsync(reload, () => _harness.AddRule(RuleFile, TagRule("after")));

        Assert.Equal(ReloadOutcome.Reloaded, repaired.Rules);
        Assert.Equal(["after"], TagsOf(runtime.Services.Rules));
        Assert.Equal("rules reloaded: 3 rules in 3 files (was 3 in 3) [files changed]", ReloadLines()[^1].Text);
    }

    [Fact]
    public async Task Removing_the_quarantine_rule_while_an_account_fetches_is_refused()
    {
        await using var runtime = await _harness.OpenAsync();
        using var reload = await StartAsync(runtime);
        var good = runtime.Services.Rules;

        var report = await AfterChangeAsync(reload, () =>
        {
            File.Delete(Path.Combine(_harness.RulesDirectory, "00-quarantine-failed-security.yaml"));
            File.Delete(Path.Combine(_harness.RulesDirectory, RuleFile));
        });

        Assert.Equal(ReloadOutcome.Refused, report.Rules);
        Assert.Same(good, runtime.Services.Rules);
        Assert.Contains("the rules folder holds no incoming rule", Assert.Single(ReloadLines()).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_burst_of_writes_gives_one_reload_once_the_folder_is_quiet()
    {
        await using var runtime = await _harness.OpenAsync();
        using var reload = await StartAsync(runtime);
        var reports = new System.Collections.Concurrent.ConcurrentQueue<ReloadReport>();
        reload.Reloaded += reports.Enqueue;

        var due = false;
        reload.ReloadDue += () => due = true;

        // Each write comes just before the folder was quiet long enough: the wait starts again, nothing is reloaded yet.
        for (var i = 0; i < 2; i++)
        {
            await NoticedAfterAsync(reload, () => _harness.AddRule($"8{i}-burst.yaml", TagRule($"burst-{i}")));
            _harness.Time.Advance(LiveReload.Debounce - TimeSpan.FromMilliseconds(1));
            Assert.False(due, $"a reload was due {(i + 1) * (LiveReload.Debounce.TotalMilliseconds - 1)} ms after the first write, though the folder was never quiet for {LiveReload.Debounce.TotalMilliseconds} ms");
        }

        var report = await AfterChangeAsync(reload, () => _harness.AddRule("82-burst.yaml", TagRule("burst-2")));

        Assert.Same(report, Assert.Single(reports));
        Assert.Equal(ReloadOutcome.Reloaded, report.Rules);
        Assert.Equal(["before", "burst-0", "burst-1", "burst-2"], TagsOf(runtime.Services.Rules));
        Assert.Equal("rules reloaded: 6 rules in 6 files (was 3 in 3) [files changed]", Assert.Single(ReloadLines()).Text);
    }

    [Fact]
    public async Task A_file_event_that_changes_nothing_logs_nothing()
    {
        await using var runtime = await _harness.OpenAsync();
        using var reload = await StartAsync(runtime);
        var rules = runtime.Services.Rules;
        var entries = runtime.Services.Store.Entries;

        var report = await AfterChangeAsync(reload, () => _harness.AddRule(RuleFile, TagRule("before")));

        Assert.Equal(ReloadOutcome.Unchanged, report.Rules);
        Assert.Equal(ReloadOutcome.Unchanged, report.Keys);
        Assert.Null(report.Line);
        Assert.Empty(ReloadLines());
        Assert.Same(rules, runtime.Services.Rules);
        Assert.Equal(entries.Select(e => e.Fingerprint), runtime.Services.Store.Entries.Select(e => e.Fingerprint));
    }

    [Fact]
    public async Task A_reload_asked_for_reads_both_again_and_says_so_when_nothing_changed()
    {
        await using var runtime = await _harness.OpenAsync();
        using var reload = await StartAsync(runtime);

        var report = await reload.ReloadAsync("asked by the test", CancellationToken.None);

        Assert.Equal(ReloadOutcome.Unchanged, report.Rules);
        Assert.Equal(ReloadOutcome.Unchanged, report.Keys);
        var line = Assert.Single(ReloadLines());
        Assert.Equal(
            $"rules unchanged: 3 rules in 3 files; key store unchanged: {runtime.Services.Store.Entries.Count} entries [asked by the test]", line.Text);
        Assert.Equal(line.Text, report.Line);
    }

    [Fact]
    public async Task A_rules_folder_swapped_as_a_whole_is_read_and_watched_again_after_a_reload_asked_for()
    {
        // A deployment that ships each release of the rules as a folder and points a symlink at the current one.
        var release1 = Release("release-1", "before");
        var current = _harness.Folder.File("current");
        Directory.CreateSymbolicLink(current, release1);
        await using var runtime = await _harness.OpenAsync();
        runtime.Services.Config.Rules = current;
        using var reload = await StartAsync(runtime);

        var release2 = Release("release-2", "after");
        Directory.CreateSymbolicLink(current + ".new", release2);
        ExternalTool.Run("mv", ["-T", current + ".new", current]);
        var swapped = await reload.ReloadAsync("SIGHUP", CancellationToken.None);

        Assert.Equal(ReloadOutcome.Reloaded, swapped.Rules);
        Assert.Equal(["after"], TagsOf(runtime.Services.Rules));

        // The watcher followed the folder, not the path: only a new one sees an edit in the new release.
        var edited = await AfterChangeAsync(reload, () => File.WriteAllText(Path.Combine(release2, RuleFile), TagRule("edited")));

        Assert.Equal(ReloadOutcome.Reloaded, edited.Rules);
        Assert.Equal(["edited"], TagsOf(runtime.Services.Rules));
    }

    [Fact]
    public async Task A_certificate_imported_by_another_process_is_found_by_the_running_store_after_the_reload()
    {
        _harness.CopyKeyStore();
        await using var runtime = await _harness.OpenAsync();
        using var reload = await StartAsync(runtime);
        var store = runtime.Services.Store;
        using var ca = new CertificateAuthority();
        var now = _harness.Time.GetUtcNow();
        using var issued = ca.Issue("CN=New Colleague", now.AddHours(-1), now.AddYears(1), ["colleague@rulemail.test"]);
        using var withKey = issued.CopyWithPrivateKey(ca.LeafKey);
        var p12 = new ImportFile("colleague.p12", withKey.Export(X509ContentType.Pkcs12, FilePassphrase));
        Assert.Empty(store.FindSmime("colleague@rulemail.test"));

        // As `rulemail keys import` does it: another KeyStore on the folder, writing the certificate and its key.
        var report = await AfterChangeAsync(reload, () => OtherProcess().Import([p12], FilePassphrase));

        Assert.Equal(ReloadOutcome.Reloaded, report.Keys);
        var added = Assert.Single(report.KeyChange!.Added);
        Assert.NotNull(store.FindSmime("colleague@rulemail.test", KeyUsages.Sign, needPrivateKey: true));
        using var opened = store.OpenPrivateKey(store.FindSmime("colleague@rulemail.test", KeyUsages.Sign, needPrivateKey: true)!);
        Assert.True(opened.HasPrivateKey);
        Assert.Equal(
            $"key store reloaded: 1 added (S/MIME colleague@rulemail.test, SHA-256 fingerprint {added.Fingerprint}), 0 removed [files changed]",
            Assert.Single(ReloadLines()).Text);
    }

    [Fact]
    public async Task A_message_held_for_a_missing_certificate_goes_out_encrypted_once_the_certificate_is_imported_and_the_file_moved_back()
    {
        _harness.CopyKeyStore();
        var outbox = _harness.Folder.File("outbox");
        var pickup = _harness.Folder.File("pickup");
        _harness.Accounts.Add(new AccountConfig
        {
            Name = "support",
            Address = "support@rulemail.test",
            Send = new SendConfig { Every = "30s", Outbox = outbox, Pickup = pickup },
        });
        Directory.CreateDirectory(outbox);
        File.WriteAllText(Path.Combine(outbox, "0001.eml"),
            "From: support@rulemail.test\r\nTo: colleague@rulemail.test\r\nSubject: Secret\r\nX-RuleMail-Encrypt: yes\r\n\r\nThe plan.\r\n");
        await using var runtime = await _harness.OpenAsync();
        using var reload = await StartAsync(runtime);

        var first = Assert.Single((await runtime.Accounts.Single(a => a.Account.Name == "support").SendAsync(null, CancellationToken.None)).Messages);
        Assert.Equal(OutboxState.Held, first.State);
        Assert.Equal("cannot encrypt with S/MIME: The certificate for colleague@rulemail.test was not found.", first.Reason);

        using var ca = new CertificateAuthority();
        var now = _harness.Time.GetUtcNow();
        using var issued = ca.Issue("CN=New Colleague", now.AddHours(-1), now.AddYears(1), ["colleague@rulemail.test"]);
        var report = await AfterChangeAsync(reload, () => OtherProcess().Import([ca.CaFile, CertificateAuthority.Pem("colleague.crt", issued)]));
        Assert.Equal(ReloadOutcome.Reloaded, report.Keys);
        File.Move(Path.Combine(outbox, "held", "0001.eml"), Path.Combine(outbox, "0001.eml"));

        var second = Assert.Single((await runtime.Accounts.Single(a => a.Account.Name == "support").SendAsync(null, CancellationToken.None)).Messages);

        Assert.Equal(OutboxState.Sent, second.State);
        Assert.StartsWith("signed and encrypted with S/MIME", second.Reason, StringComparison.Ordinal);
        var sent = MimeKit.MimeMessage.Load(Assert.Single(Directory.GetFiles(pickup, "*.eml")));
        Assert.Equal("application/pkcs7-mime", sent.Body!.ContentType.MimeType);
        Assert.DoesNotContain("The plan.", File.ReadAllText(Directory.GetFiles(pickup, "*.eml")[0]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_damaged_key_file_keeps_the_loaded_keys_and_the_log_names_the_file()
    {
        _harness.CopyKeyStore();
        await using var runtime = await _harness.OpenAsync();
        using var reload = await StartAsync(runtime);
        var store = runtime.Services.Store;
        var entries = store.Entries;
        var damaged = Path.Combine(_harness.KeystoreDirectory, "smime", new string('A', 64) + ".crt");

        var refused = await AfterChangeAsync(reload, () => File.WriteAllText(damaged, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"));

        Assert.Equal(ReloadOutcome.Refused, refused.Keys);
        Assert.Same(entries, store.Entries);
        Assert.NotNull(store.FindSmime("support@rulemail.test", KeyUsages.Encrypt, needPrivateKey: true));
        var line = Assert.Single(ReloadLines());
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.StartsWith($"key store reload refused, keeping the loaded keys: {damaged}: damaged key store file", line.Text, StringComparison.Ordinal);

        var recovered = await AfterChangeAsync(reload, () => File.Delete(damaged));

        Assert.Equal(ReloadOutcome.Reloaded, recovered.Keys);
        Assert.True(recovered.KeyChange!.IsEmpty);
        Assert.Equal("key store reloaded: 0 added, 0 removed [files changed]", ReloadLines()[^1].Text);
    }

    [Fact]
    public async Task The_rulemail_run_process_reloads_on_SIGHUP_keeps_running_and_exits_0_on_SIGTERM()
    {
        var sample = Path.Combine(HostHarness.RepositoryRoot, "keystore-sample");
        File.WriteAllText(_harness.ConfigPath, $"""
            keystore: {sample}
            keystore_passphrase_file: {Path.Combine(sample, "passphrase.txt")}
            rules: {_harness.RulesDirectory}
            state: {_harness.StatePath}
            accounts:
              - name: demo
                address: support@rulemail.test
                fetch:
                  every: 1h
                  maildir: {_harness.Folder.File("Maildir")}
            """);
        using var host = RunningHost.Start(_harness.Folder.Path, "run", "--config", _harness.ConfigPath);
        await host.WaitForLineAsync(l => l.Contains("live reload: watching", StringComparison.Ordinal));

        // Sent again every few seconds until the reload answers: in CI, beside the whole suite, a first SIGHUP has gone
        // unanswered (not reproduced alone); the assertion is that one is answered and the process keeps running.
        using var resend = new Timer(_ =>
        {
            try
            {
                Signal("HUP", host.Id);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // kill failed: the process ended, and the wait below says so, with its output.
            }
        }, null, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        var line = await host.WaitForLineAsync(l => l.Contains("[SIGHUP]", StringComparison.Ordinal));
        await resend.DisposeAsync();

        Assert.Contains("rules unchanged: 3 rules in 3 files; key store unchanged: 10 entries [SIGHUP]", line, StringComparison.Ordinal);
        Assert.False(host.HasExited, host.Output);
        Signal("TERM", host.Id);
        Assert.True(await host.WaitForExitAsync() == 0, host.Output);
    }

    public void Dispose() => _harness.Dispose();

    /// <summary>A copy of the test's rules folder whose own rule tags <paramref name="tag"/>; its path.</summary>
    private string Release(string name, string tag)
    {
        var folder = _harness.Folder.File(name);
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(_harness.RulesDirectory))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }

        File.WriteAllText(Path.Combine(folder, RuleFile), TagRule(tag));
        return folder;
    }

    private static string TagRule(string tag) => $"rules:\n  - name: live\n    on: incoming\n    then:\n      tag: {tag}\n";

    /// <summary>The tags the rules give a plain incoming question.</summary>
    private static IReadOnlyList<string> TagsOf(RuleSet rules) =>
        rules.Evaluate(RuleMessage.From(HostHarness.PlainQuestion("live"), null, "incoming", "support@rulemail.test"), RuleDirection.Incoming).Decision.Tag;

    private static void Signal(string signal, int pid) =>
        ExternalTool.Run("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    private List<(LogLevel Level, string Text)> ReloadLines() =>
        [.. _log.Lines.Where(l => !l.Text.StartsWith("live reload:", StringComparison.Ordinal))];

    private KeyStore OtherProcess() => KeyStore.Open(_harness.KeystoreDirectory, new KeyStoreOptions
    {
        Time = _harness.Time,
        Passphrase = new KeyStorePassphrase(HostHarness.SamplePassphrase),
        Pkcs8Iterations = 1000,
    });

    private async Task<LiveReload> StartAsync(HostRuntime runtime)
    {
        var reload = new LiveReload(runtime.Services.Store, runtime.Services.RuleSource, runtime.Services.Config, _log, _harness.Time);
        await reload.StartAsync(CancellationToken.None);
        return reload;
    }

    /// <summary>Makes <paramref name="change"/> and waits until the service saw a file event, so its debounce timer runs.</summary>
    private static async Task NoticedAfterAsync(LiveReload reload, Action change)
    {
        var noticed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnNoticed() => noticed.TrySetResult();
        reload.ChangeNoticed += OnNoticed;
        try
        {
            change();
            await noticed.Task.WaitAsync(Deadline);
        }
        finally
        {
            reload.ChangeNoticed -= OnNoticed;
        }
    }

    /// <summary>
    /// Makes <paramref name="change"/>, waits until the service saw a file event (so its debounce timer runs), checks that
    /// it did not reload yet, moves the clock on by the debounce time and returns the report of the reload that follows.
    /// </summary>
    private async Task<ReloadReport> AfterChangeAsync(LiveReload reload, Action change)
    {
        var noticed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reloaded = new TaskCompletionSource<ReloadReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        var due = false;
        using var notices = new SemaphoreSlim(0);
        void OnNoticed()
        {
            notices.Release();
            noticed.TrySetResult();
        }

        void OnDue() => due = true;
        void OnReloaded(ReloadReport report) => reloaded.TrySetResult(report);
        reload.ChangeNoticed += OnNoticed;
        reload.ReloadDue += OnDue;
        reload.Reloaded += OnReloaded;
        try
        {
            change();
            await noticed.Task.WaitAsync(Deadline);

            // The fake clock fires the debounce timer inside Advance, on this thread: due is exact, not a race.
            Assert.False(due, "a reload was due before the folders were quiet for the debounce time");
            while (notices.CurrentCount > 0)
            {
                await notices.WaitAsync();
            }

            _harness.Time.Advance(LiveReload.Debounce);

            // One change can give several file events; one that comes in while the clock moves restarts the debounce
            // (the folders were not quiet then), and is noticed: the reload is due a debounce time after the last one.
            while (!due && await notices.WaitAsync(Deadline))
            {
                while (notices.CurrentCount > 0)
                {
                    await notices.WaitAsync();
                }

                _harness.Time.Advance(LiveReload.Debounce);
            }

            Assert.True(due, "no reload was due once the folders were quiet for the debounce time");
            return await reloaded.Task.WaitAsync(Deadline);
        }
        finally
        {
            reload.ChangeNoticed -= OnNoticed;
            reload.ReloadDue -= OnDue;
            reload.Reloaded -= OnReloaded;
        }
    }

    /// <summary>The real <c>rulemail</c> process, its stdout and stderr read line by line; killed if a test leaves it running.</summary>
    private sealed class RunningHost : IDisposable
    {
        private readonly Process _process;
        private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _all = new();

        private RunningHost(Process process) => _process = process;

        public int Id => _process.Id;

        public bool HasExited => _process.HasExited;

        public string Output => string.Join('\n', _all);

        public static RunningHost Start(string workingDirectory, params string[] arguments)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = workingDirectory,
            };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "rulemail.dll"));
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            start.Environment.Remove("RULEMAIL_KEYSTORE_PASSPHRASE");
            var process = new Process { StartInfo = start, EnableRaisingEvents = true };
            var host = new RunningHost(process);
            process.OutputDataReceived += (_, e) => host.Add(e.Data);
            process.ErrorDataReceived += (_, e) => host.Add(e.Data);
            process.Exited += (_, _) =>
            {
                process.WaitForExit(); // Until both streams are read to their end.
                host._lines.Writer.TryComplete();
            };
            if (!process.Start())
            {
                throw new InvalidOperationException("dotnet did not start");
            }

            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return host;
        }

        /// <summary>The first line (from now on) that <paramref name="wanted"/> accepts; fails with the output at the deadline or when the process ends.</summary>
        public async Task<string> WaitForLineAsync(Func<string, bool> wanted)
        {
            using var deadline = new CancellationTokenSource(Deadline);
            try
            {
                while (await _lines.Reader.WaitToReadAsync(deadline.Token))
                {
                    while (_lines.Reader.TryRead(out var line))
                    {
                        if (wanted(line))
                        {
                            return line;
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                Assert.Fail($"no such line within {Deadline.TotalSeconds} s:\n{Output}");
            }

            Assert.Fail($"the process ended (exit {_process.ExitCode}) without such a line:\n{Output}");
            return string.Empty;
        }

        public async Task<int> WaitForExitAsync()
        {
            await _process.WaitForExitAsync().WaitAsync(Deadline);
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }

            _process.Dispose();
        }

        private void Add(string? line)
        {
            if (line is null)
            {
                return;
            }

            _all.Enqueue(line);
            _lines.Writer.TryWrite(line);
        }
    }
}
