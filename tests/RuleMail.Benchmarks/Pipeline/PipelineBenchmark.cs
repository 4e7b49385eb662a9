using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using MailKit;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Host.Transport;
using RuleMail.Host.Scheduling;
using RuleMail.Host.Processing;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Rules;

namespace RuleMail.Benchmarks.Pipeline;

/// <summary>
/// The whole incoming pipeline against a real Dovecot on loopback (<c>pipeline</c>): for each mix, N copies of a demo
/// message are appended to their own IMAP user, then one fetch of the account through <see cref="HostRuntime"/> and
/// <see cref="AccountRunner.FetchAsync"/> with fresh SQLite state is timed end to end (IMAP, spool, hash, parse,
/// decrypt/verify, rules, ledger). A second fetch of the same messages (fresh state again) runs the same
/// <see cref="IncomingPipeline"/> with timers around its mail source and state store, and the analysis is split
/// once more in memory, for the share of each stage. Then, per kind, one message with a large attachment is
/// fetched in a child process whose peak resident size is that message's alone.
/// </summary>
internal static class PipelineBenchmark
{
    public const string Verb = "pipeline";
    internal const string Password = "bench-password";
    private const string Address = "support@rulemail.test";
    private const double MiB = 1024 * 1024;
    private static readonly MailKind[] Mixes = [MailKind.Plain, MailKind.SmimeSignedEncrypted, MailKind.PgpSignedEncrypted];

    public static async Task<int> RunAsync(string[] args)
    {
        var options = Options.Parse(args);
        if (options is null)
        {
            await Console.Error.WriteLineAsync(
                $"usage: {Verb} [--count N (500)] [--pgp-count N (200)] [--runs R (3)] [--large-mb MB (50)] [--skip-throughput] [--skip-memory]");
            return 2;
        }

        PrintMachine();
        string[] users = ["warmup", .. Mixes.Select(m => m.Name), .. MailKind.All.Select(k => $"large-{k.Name}")];
        await using var dovecot = await DovecotServer.StartAsync([.. users.Select(u => (u, Password))]);
        Console.WriteLine($"Dovecot on {dovecot.Host}:{dovecot.ImapPort}, mail in {dovecot.Root}");
        Console.WriteLine();

        if (!options.SkipThroughput)
        {
            await ThroughputAsync(dovecot, options);
        }

        if (!options.SkipMemory)
        {
            await MemoryAsync(dovecot, options);
        }

        return 0;
    }

    private static async Task ThroughputAsync(DovecotServer dovecot, Options options)
    {
        // Warm-up: load and compile every code path (MailKit, MimeKit, OpenSSL, BouncyCastle, SQLite, the rules) once.
        Console.WriteLine("Warm-up: 20 messages of each mix through the same pipeline (not counted) ...");
        using (var harness = HostHarness.Create())
        {
            await using var runtime = await harness.OpenAsync();
            var unlock = UnlockPrivateKeys(runtime);
            Console.WriteLine(Invariant(
                $"Opening the sample store's private keys once (every measure below starts with them open, as a running host has them): {unlock.TotalSeconds:F2} s"));
        }

        await AppendAsync(dovecot, "warmup", Mixes.SelectMany(m => Copies(m, "warmup", 20)));
        await EndToEndAsync(dovecot, "warmup", MailKind.Plain, expectedCount: 20 * Mixes.Length, check: false);
        await TimedPassAsync(dovecot, "warmup", MailKind.Plain, expectedCount: 20 * Mixes.Length, check: false);
        foreach (var mix in Mixes)
        {
            InMemory(mix, [.. Copies(mix, "warmup", 20)]);
        }

        var rows = new List<(MailKind Mix, int Count, long Size, double AppendSeconds, List<double> Runs, TimedPass Pass, InMemorySplit Split)>();
        foreach (var mix in Mixes)
        {
            var count = mix == MailKind.PgpSignedEncrypted ? options.PgpCount : options.Count;
            var copies = Copies(mix, mix.Name, count).ToList();
            Console.WriteLine($"{mix.Label}: appending {count} copies ...");
            var append = Stopwatch.StartNew();
            await AppendAsync(dovecot, mix.Name, copies);
            append.Stop();
            var runs = new List<double>();
            for (var run = 1; run <= options.Runs; run++)
            {
                Console.WriteLine($"{mix.Label}: fetch {run} of {options.Runs}, {count} messages through AccountRunner.FetchAsync, fresh state ...");
                runs.Add(await EndToEndAsync(dovecot, mix.Name, mix, count, check: true));
                Console.WriteLine(Invariant($"{mix.Label}: {count / runs[^1]:F0} messages/s"));
            }

            Console.WriteLine($"{mix.Label}: once more with timers per stage ...");
            var pass = await TimedPassAsync(dovecot, mix.Name, mix, count, check: true);
            var split = InMemory(mix, copies);
            rows.Add((mix, count, copies[0].Length, append.Elapsed.TotalSeconds, runs, pass, split));
        }

        Console.WriteLine();
        Console.WriteLine("End to end: one fetch of the INBOX through HostRuntime + AccountRunner.FetchAsync, fresh SQLite state,");
        Console.WriteLine("IMAP (Dovecot 2.3, loopback, no TLS), spool file, hash, parse, decrypt/verify, shipped rules, ledger;");
        Console.WriteLine(Invariant($"median of {options.Runs} fetches of the same messages (each with fresh state), slowest–fastest in brackets:"));
        Console.WriteLine();
        Console.WriteLine("| mix | messages | size each | wall clock | messages/s | ms/message |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var row in rows)
        {
            var median = Median(row.Runs);
            Console.WriteLine(Invariant(
                $"| {row.Mix.Label} | {row.Count} | {row.Size:N0} B | {median:F2} s | {row.Count / median:F0} ({row.Count / row.Runs.Max():F0}–{row.Count / row.Runs.Min():F0}) | {median * 1000 / row.Count:F2} |"));
        }

        Console.WriteLine();
        Console.WriteLine("Where the time goes (one more fetch of the same messages, fresh state, timers around the mail source and the");
        Console.WriteLine("state store; analysis = the rest: hash, parse, decrypt/verify, rules, plan). Last three columns: the same");
        Console.WriteLine("messages parsed from memory, inspected and evaluated again, per message:");
        Console.WriteLine();
        Console.WriteLine("| mix | fetch wall clock | IMAP + spool write | SQLite ledger | analysis | parse | decrypt/verify | rule model + rules |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in rows)
        {
            var pass = row.Pass;
            var analysis = pass.Total - pass.Source - pass.State;
            string Share(TimeSpan part) => Invariant($"{part.TotalMilliseconds / row.Count:F2} ms ({part / pass.Total:P0})");
            string PerMessage(TimeSpan part) => Invariant($"{part.TotalMilliseconds / row.Count:F3} ms");
            Console.WriteLine(Invariant(
                $"| {row.Mix.Label} | {pass.Total.TotalSeconds:F2} s = {row.Count / pass.Total.TotalSeconds:F0}/s | {Share(pass.Source)} | {Share(pass.State)} ({pass.StateCalls / (double)row.Count:F0} calls/message) | {Share(analysis)} | {PerMessage(row.Split.Parse)} | {PerMessage(row.Split.Security)} | {PerMessage(row.Split.Rules)} |"));
        }

        Console.WriteLine();
        Console.WriteLine(Invariant($"(Appending them took {string.Join(", ", rows.Select(r => Invariant($"{r.Count / r.AppendSeconds:F0}/s {r.Mix.Name}")))}; MULTIAPPEND of 100, one connection.)"));
        Console.WriteLine();
    }

    private static async Task MemoryAsync(DovecotServer dovecot, Options options)
    {
        var attachment = (long)(options.LargeMb * 1024 * 1024);
        var rows = new List<(MailKind Kind, long Size, RunMeasure Run, List<StepMeasure> Steps)>();
        GpgMeasure? peer = null;
        using var work = new TempDirectory("bench-large");
        foreach (var kind in MailKind.All)
        {
            Console.WriteLine($"{kind.Label}: making a message with a {options.LargeMb:F0} MiB attachment ...");
            var path = PipelineMail.Large(kind, attachment, work, $"large-{kind.Name}@bench.test");
            var size = new FileInfo(path).Length;
            var user = $"large-{kind.Name}";
            await AppendAsync(dovecot, user, Copies(kind, user, 1));
            await AppendFileAsync(dovecot, user, path);
            if (kind == MailKind.PgpSignedEncrypted)
            {
                Console.WriteLine($"{kind.Label}: gpg --decrypt of the same OpenPGP message, the peer ...");
                peer = PipelineGpgPeer.Measure(path, work);
            }

            File.Delete(path);
            Console.WriteLine(Invariant($"{kind.Label}: {size / MiB:F1} MiB appended; fetching it in a child process ..."));
            var run = await ChildAsync<RunMeasure>("run", dovecot, user, kind);
            var steps = await ChildAsync<List<StepMeasure>>("steps", dovecot, user, kind);
            rows.Add((kind, size, run, steps));
        }

        Console.WriteLine();
        Console.WriteLine(Invariant($"One message with a {options.LargeMb:F0} MiB attachment (random bytes, base64), fetched by AccountRunner.FetchAsync in a"));
        Console.WriteLine("child process after a small message of the same kind; its peak resident size (VmHWM, reset after the small one):");
        Console.WriteLine();
        Console.WriteLine("| message | size | time | resident before | peak during | peak − before | ÷ size | managed allocated | result |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var (kind, size, run, _) in rows)
        {
            var growth = run.PeakDuring - run.ResidentBefore;
            Console.WriteLine(Invariant(
                $"| {kind.Label} | {size / MiB:F1} MiB | {run.Seconds:F2} s | {run.ResidentBefore / MiB:F0} MiB | {run.PeakDuring / MiB:F0} MiB{(run.PeakReset ? "" : " (not reset)")} | {growth / MiB:F0} MiB | {growth / (double)size:F1}× | {run.Allocated / MiB:F0} MiB | {(run.Expected ? "as expected" : "UNEXPECTED: " + run.Security)} |"));
        }

        Console.WriteLine();
        Console.WriteLine("The same steps by hand, each from a collected heap (allocated; how far the step raised the resident size;");
        Console.WriteLine("managed memory still live after it, counted from before the first step):");
        foreach (var (kind, size, _, steps) in rows)
        {
            Console.WriteLine();
            Console.WriteLine(Invariant($"{kind.Label}, {size / MiB:F1} MiB:"));
            Console.WriteLine();
            Console.WriteLine("| step | time | allocated | peak above start | live after |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            foreach (var step in steps)
            {
                Console.WriteLine(Invariant($"| {step.Step} | {step.Seconds:F2} s | {step.Allocated / MiB:F1} MiB | {step.PeakAboveStart / MiB:F0} MiB | {step.LiveAfter / MiB:F0} MiB |"));
            }

            if (kind == MailKind.PgpSignedEncrypted && peer is not null && steps.FirstOrDefault(s => s.Step.StartsWith("decrypt/verify", StringComparison.Ordinal)) is { } inspect)
            {
                Console.WriteLine(Invariant(
                    $"| peer: gpg --decrypt of the same OpenPGP message (median of 3, warm agent; its whole peak resident size) | {peer.Seconds:F2} s | | {peer.PeakBytes / MiB:F0} MiB | |"));
                Console.WriteLine();
                Console.WriteLine(Invariant($"decrypt/verify ÷ gpg: time {inspect.Seconds / peer.Seconds:F2}×; peak {inspect.PeakAboveStart / (double)size:F2}× the message size (gpg {peer.PeakBytes / (double)size:F2}×)"));
            }
        }

        Console.WriteLine();
    }

    /// <summary>One fetch of the user's INBOX through the host runtime, fresh state; returns the wall-clock seconds.</summary>
    private static async Task<double> EndToEndAsync(DovecotServer dovecot, string user, MailKind kind, int expectedCount, bool check)
    {
        using var harness = HostHarness.Create();
        harness.ImapAccount(dovecot, user, Password, address: Address);
        await using var runtime = await harness.OpenAsync();
        UnlockPrivateKeys(runtime);
        var watch = Stopwatch.StartNew();
        var report = await runtime.Accounts[0].FetchAsync(null, CancellationToken.None);
        watch.Stop();
        Check(report, kind, expectedCount, check);
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>The same fetch through <see cref="IncomingPipeline"/> with timers around its source and state store.</summary>
    private static async Task<TimedPass> TimedPassAsync(DovecotServer dovecot, string user, MailKind kind, int expectedCount, bool check)
    {
        using var harness = HostHarness.Create();
        var account = harness.ImapAccount(dovecot, user, Password, address: Address);
        await using var runtime = await harness.OpenAsync();
        UnlockPrivateKeys(runtime);
        var services = runtime.Services;
        var state = new TimedState(services.State);
        var timed = services.WithState(state);
        var endpoint = ServerEndpoint.From("imap", account.Fetch!.Imap!, services.Environment);
        var source = new TimedSource(new ImapSource(endpoint, account.Name, "INBOX", NullLogger.Instance), state);
        await using (source)
        {
            var watch = Stopwatch.StartNew();
            var report = await new IncomingPipeline(timed, account, null).RunAsync(source, endpoint.ToString(), null, CancellationToken.None);
            watch.Stop();
            Check(report, kind, expectedCount, check);
            return new TimedPass(watch.Elapsed, source.Elapsed, state.Elapsed, state.Calls);
        }
    }

    /// <summary>Parse, inspect, and build the model and evaluate the shipped rules for each message, from memory.</summary>
    private static InMemorySplit InMemory(MailKind kind, IReadOnlyList<byte[]> messages)
    {
        using var harness = HostHarness.Create();
        var runtime = harness.OpenAsync().GetAwaiter().GetResult();
        try
        {
            UnlockPrivateKeys(runtime);
            var security = new IncomingSecurity(runtime.Services.Store, runtime.Services.Incoming.Policy);
            long parse = 0, inspect = 0, rules = 0;
            foreach (var raw in messages)
            {
                var t0 = Stopwatch.GetTimestamp();
                using var stream = new MemoryStream(raw, writable: false);
                using var parsed = MimeMessage.Load(stream);
                var t1 = Stopwatch.GetTimestamp();
                var inspected = security.Inspect(parsed, Address);
                var t2 = Stopwatch.GetTimestamp();
                var model = RuleMessage.From(inspected.Message, inspected.Security, "incoming", Address, raw.Length);
                _ = runtime.Services.Rules.Evaluate(model, RuleDirection.Incoming);
                var t3 = Stopwatch.GetTimestamp();
                if (!kind.IsExpected(inspected.Security))
                {
                    throw new InvalidOperationException($"{kind.Label}: unexpected security result {inspected.Security}");
                }

                parse += t1 - t0;
                inspect += t2 - t1;
                rules += t3 - t2;
            }

            return new InMemorySplit(Stopwatch.GetElapsedTime(0, parse), Stopwatch.GetElapsedTime(0, inspect), Stopwatch.GetElapsedTime(0, rules));
        }
        finally
        {
            runtime.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// Opens every private key of the key store, as a running host has after its first messages (the store caches
    /// them), so a measure does not count the one-time unlock (PBKDF2 for S/MIME, S2K for OpenPGP); returns its time.
    /// </summary>
    private static TimeSpan UnlockPrivateKeys(HostRuntime runtime)
    {
        var store = runtime.Services.Store;
        var watch = Stopwatch.StartNew();
        foreach (var certificate in store.Certificates.Where(c => c.HasPrivateKey))
        {
            _ = store.OpenPrivateKey(certificate);
        }

        foreach (var key in store.PgpKeys)
        {
            foreach (var subkey in key.Keys.Where(k => k.HasSecretKey))
            {
                _ = store.OpenPrivateKey(key, long.Parse(subkey.KeyId, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            }
        }

        return watch.Elapsed;
    }

    private static void Check(FetchReport report, MailKind kind, int expectedCount, bool check)
    {
        if (report.Error is not null)
        {
            throw new InvalidOperationException($"the fetch ended early: {report.Error}");
        }

        if (report.Messages.Count != expectedCount)
        {
            throw new InvalidOperationException($"expected {expectedCount} messages processed, got {report.Messages.Count} (already done: {report.AlreadyDone})");
        }

        var wrong = report.Messages.FirstOrDefault(m => m.State != MessageState.Done || (check && !kind.IsExpected(m.Security)));
        if (wrong is not null)
        {
            throw new InvalidOperationException($"{kind.Label}: {wrong.SourceKey} ended {wrong.State} with {SecurityStatus.Describe(wrong.Security)} {wrong.Error}");
        }
    }

    internal static IEnumerable<byte[]> Copies(MailKind kind, string prefix, int count) =>
        Enumerable.Range(1, count).Select(i => PipelineMail.Copy(kind, Invariant($"{prefix}-{kind.Name}-{i:D5}@bench.test")));

    /// <summary>Appends the messages to the user's <paramref name="folder"/> over one connection, 100 to a MULTIAPPEND.</summary>
    internal static async Task AppendAsync(DovecotServer dovecot, string user, IEnumerable<byte[]> messages, string folder = "INBOX")
    {
        using var client = await dovecot.ConnectImapAsync(user, Password);
        var target = await client.GetFolderAsync(folder);
        foreach (var batch in messages.Chunk(100))
        {
            var parsed = batch.Select(raw => MimeMessage.Load(new MemoryStream(raw, writable: false))).ToList();
            try
            {
                await target.AppendAsync([.. parsed.Select(m => (IAppendRequest)new AppendRequest(m))]);
            }
            finally
            {
                parsed.ForEach(m => m.Dispose());
            }
        }

        await client.DisconnectAsync(true);
    }

    /// <summary>Appends a message file without reading it into memory (MimeKit keeps its content on the file).</summary>
    private static async Task AppendFileAsync(DovecotServer dovecot, string user, string path)
    {
        using var client = await dovecot.ConnectImapAsync(user, Password);
        await using var file = File.OpenRead(path);
        using var message = await MimeMessage.LoadAsync(file, persistent: true);
        await client.Inbox.AppendAsync(new AppendRequest(message));
        await client.DisconnectAsync(true);
    }

    /// <summary>Runs this program again as <see cref="PipelineChild"/> and returns what it measured.</summary>
    private static async Task<T> ChildAsync<T>(string mode, DovecotServer dovecot, string user, MailKind kind)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var start = new ProcessStartInfo(self)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(typeof(PipelineBenchmark).Assembly.Location);
        }

        foreach (var argument in new[] { PipelineChild.Verb, mode, dovecot.Host, dovecot.ImapPort.ToString(CultureInfo.InvariantCulture), user, Password, kind.Name })
        {
            start.ArgumentList.Add(argument);
        }

        using var child = Process.Start(start) ?? throw new InvalidOperationException($"{self} did not start");
        var output = child.StandardOutput.ReadToEndAsync();
        var error = child.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        try
        {
            await child.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            child.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{PipelineChild.Verb} {mode} {kind.Name} did not finish in 15 minutes");
        }

        var line = (await output).Split('\n').FirstOrDefault(l => l.StartsWith(PipelineChild.ResultPrefix, StringComparison.Ordinal));
        if (child.ExitCode != 0 || line is null)
        {
            throw new InvalidOperationException($"{PipelineChild.Verb} {mode} {kind.Name} failed ({child.ExitCode}):\n{await output}\n{await error}");
        }

        return JsonSerializer.Deserialize<T>(line[PipelineChild.ResultPrefix.Length..])
            ?? throw new InvalidOperationException($"{PipelineChild.Verb} printed no result");
    }

    internal static void PrintMachine()
    {
        var cpu = "unknown";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
        }

        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);
        var dovecotVersion = ExternalTool.TryRun(DovecotServer.Program, ["--version"]).StandardOutputText.Trim();
        var openssl = ExternalTool.TryRun("openssl", ["version"]).StandardOutputText.Trim();
        Console.WriteLine(Invariant($"Machine: {cpu}, {Environment.ProcessorCount} vCPU, {memory:F0} GiB; {RuntimeInformation.OSDescription}"));
        Console.WriteLine(Invariant($"Runtime: {RuntimeInformation.FrameworkDescription}, {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC; Dovecot {dovecotVersion}; {openssl}"));
        Console.WriteLine(Invariant($"Date: {TimeProvider.System.GetUtcNow():yyyy-MM-dd HH:mm} UTC"));
    }

    internal static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    internal static double Median(IReadOnlyCollection<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private sealed record TimedPass(TimeSpan Total, TimeSpan Source, TimeSpan State, int StateCalls);

    private sealed record InMemorySplit(TimeSpan Parse, TimeSpan Security, TimeSpan Rules);

    private sealed record Options(int Count, int PgpCount, int Runs, double LargeMb, bool SkipThroughput, bool SkipMemory)
    {
        public static Options? Parse(string[] args)
        {
            int count = 500, pgpCount = 200, runs = 3;
            double largeMb = 50;
            bool skipThroughput = false, skipMemory = false;
            for (var i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--count": count = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--pgp-count": pgpCount = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--runs": runs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--large-mb": largeMb = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--skip-throughput": skipThroughput = true; break;
                    case "--skip-memory": skipMemory = true; break;
                    default: return null;
                }
            }

            return count > 0 && pgpCount > 0 && runs > 0 && largeMb > 0 ? new Options(count, pgpCount, runs, largeMb, skipThroughput, skipMemory) : null;
        }
    }
}
