using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using RuleMail.Application;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Benchmarks.Http;

/// <summary>
/// The HTTP API under load (<c>http</c>): <c>POST /api/v1/options</c> and <c>POST /api/v1/check</c> (the demo
/// <c>smime-signed</c> message: S/MIME, RSA-2048, SHA-256) against <c>rulemail serve</c> in its own process on loopback,
/// with N keep-alive connections (<see cref="LoadLoop"/>, and <c>wrk</c> as a cross-check when installed); beside the
/// same use-case calls made in-process on one and on two threads (<see cref="InProcessRate"/>) and the wall time of one
/// <c>rulemail options</c>/<c>check</c> process (<see cref="CliCost"/>). Prints Markdown tables.
/// </summary>
internal static class HttpBenchmark
{
    public const string Verb = "http";
    private const string From = "support@rulemail.test";
    private const string To = "alice@customer.test";

    public static async Task<int> RunAsync(string[] args)
    {
        var options = Options.Parse(args);
        if (options is null)
        {
            await Console.Error.WriteLineAsync(
                $"usage: {Verb} [--duration S (10)] [--warmup S (3)] [--server-warmup S (15)] [--rounds R (3)] [--connections 16,32,64] [--cli-runs N (10)] [--only options|check] [--skip-wrk] [--skip-cli]");
            return 2;
        }

        PrintMachine();
        var message = HostHarness.DemoMessage("smime-signed");
        ApiCall[] calls =
        [
            new("options", "api/v1/options", JsonSerializer.SerializeToUtf8Bytes(new { from = From, to = new[] { To } }), "application/json"),
            new("check", "api/v1/check", message, "message/rfc822"),
        ];
        calls = [.. calls.Where(c => options.Only is null || c.Name == options.Only)];

        using var served = HostHarness.Create();
        using var inProcess = HostHarness.Create();
        var messageFile = served.Folder.File("smime-signed.eml");
        await File.WriteAllBytesAsync(messageFile, message);
        Console.WriteLine($"Starting {RuleMailProcess.Assembly} serve ...");
        await using var api = await ServedApi.StartAsync(served);
        Console.WriteLine($"rulemail serve (pid {api.ProcessId}) answers on {api.BaseAddress}; agent token made with rulemail tokens create");
        await using var runtime = await inProcess.OpenAsync();
        var services = runtime.Services;
        var account = services.Config.AccountAddress(null, From);
        var work = new Dictionary<string, Action>
        {
            ["options"] = () => _ = services.Outgoing.Options(new OutgoingDraft(From, [To], [], [], account)),
            ["check"] = () =>
            {
                using var stream = new MemoryStream(message, writable: false);
                var verdict = services.Incoming.Analyse(stream, services.Config.AccountAddress(null, from: null));
                if (verdict.Security.Sign?.Success != true)
                {
                    throw new InvalidOperationException($"smime-signed did not verify in-process: {verdict.Security.Sign?.Comment}");
                }
            },
        };

        await CheckAnswersAsync(api, calls);
        var rows = new List<Row>();
        foreach (var call in calls)
        {
            // Both sides' hot paths must reach tier-1 JIT code (tiered compilation and dynamic PGO need thousands of calls,
            // and their background compiles get a share of the cores) before anything is measured.
            Console.WriteLine(Invariant($"{call.Name}: warm-up, {options.ServerWarmup.TotalSeconds:F0} s in-process and {options.ServerWarmup.TotalSeconds:F0} s over HTTP ..."));
            InProcessRate.Measure(work[call.Name], 2, options.ServerWarmup, TimeSpan.FromSeconds(1));
            await LoadLoop.RunAsync(api, call, options.Connections[0], options.ServerWarmup, TimeSpan.FromSeconds(1));
            Console.WriteLine($"{call.Name}: in-process, 1 thread ...");
            var one = InProcessRate.Measure(work[call.Name], 1, options.Warmup, options.Duration);

            // Rounds, each in-process on 2 threads then over HTTP: a machine whose speed drifts moves both alike.
            var twos = new List<InProcessResult>();
            var loads = options.Connections.ToDictionary(c => c, _ => new List<LoadResult>());
            for (var round = 1; round <= options.Rounds; round++)
            {
                Console.WriteLine(Invariant($"{call.Name}: round {round} of {options.Rounds}: in-process, 2 threads ..."));
                twos.Add(InProcessRate.Measure(work[call.Name], 2, options.Warmup, options.Duration));
                Console.WriteLine(Invariant($"{call.Name}: {twos[^1].PerSecond:F0} calls/s"));
                foreach (var connections in options.Connections)
                {
                    Console.WriteLine(Invariant($"{call.Name}: round {round}: HTTP, {connections} connections ..."));
                    var load = await LoadLoop.RunAsync(api, call, connections, options.Warmup, options.Duration);
                    Console.WriteLine(Invariant($"{call.Name}: {load.PerSecond:F0} requests/s, p99 {load.Percentile(99) / 1000:F1} ms"));
                    loads[connections].Add(load);
                }
            }

            WrkResult? wrk = null;
            if (!options.SkipWrk)
            {
                var connections = options.Connections.Contains(32) ? 32 : options.Connections[0];
                Console.WriteLine(Invariant($"{call.Name}: wrk, 2 threads, {connections} connections ..."));
                wrk = WrkCrossCheck.Run(api, call, connections, options.Duration, served.Folder.Path);
                Console.WriteLine(wrk is null ? "wrk is not installed (apt-get install wrk): no cross-check" : Invariant($"{call.Name}: wrk {wrk.PerSecond:F0} requests/s"));
            }

            CliResult? cli = null;
            if (!options.SkipCli)
            {
                Console.WriteLine(Invariant($"{call.Name}: the CLI, {options.CliRuns} processes ..."));
                cli = call.Name == "options"
                    ? CliCost.Measure(served.Folder.Path, options.CliRuns, "options", "--from", From, "--to", To, "--json", "--config", api.ConfigPath)
                    : CliCost.Measure(served.Folder.Path, options.CliRuns, "check", messageFile, "--json", "--config", api.ConfigPath);
            }

            rows.Add(new Row(call, one, twos, [.. loads.Values], wrk, cli));
        }

        Print(rows, options);
        return 0;
    }

    /// <summary>One request of each kind must give the answer the use case gives, or the load would measure refusals.</summary>
    private static async Task CheckAnswersAsync(ServedApi api, IEnumerable<ApiCall> calls)
    {
        using var client = new HttpClient { BaseAddress = api.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", api.Token);
        foreach (var call in calls)
        {
            using var content = new ByteArrayContent(call.Body);
            content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(call.ContentType);
            using var response = await client.PostAsync(call.Path, content);
            var body = await response.Content.ReadAsStringAsync();
            using var json = JsonDocument.Parse(body);
            var expected = call.Name == "options"
                ? json.RootElement.GetProperty("sign").GetProperty("enabled").GetBoolean()
                : json.RootElement.GetProperty("security").GetProperty("sign").GetProperty("success").GetBoolean();
            if (!response.IsSuccessStatusCode || !expected)
            {
                throw new InvalidOperationException($"{call.Name}: unexpected answer {(int)response.StatusCode}: {body}");
            }
        }
    }

    private static void Print(List<Row> rows, Options options)
    {
        Console.WriteLine();
        Console.WriteLine(Invariant($"Over HTTP: rulemail serve in its own process, loopback, keep-alive HTTP/1.1; a closed loop of N connections, each sending"));
        Console.WriteLine(Invariant($"its next request when the last answered; {options.Warmup.TotalSeconds:F0} s warm-up, then {options.Duration.TotalSeconds:F0} s measured. Server CPU: the service"));
        Console.WriteLine("process's user+system time per request; client CPU: the load loop's (both share the machine's cores).");
        Console.WriteLine();
        Console.WriteLine("| work | connections | requests/s | p50 | p99 | server CPU/request | client CPU/request | errors |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in rows)
        {
            foreach (var runs in row.Loads)
            {
                var (load, min, max) = Row.Median(runs, l => l.PerSecond);
                Console.WriteLine(Invariant(
                    $"| {row.Call.Name} | {load.Connections} | {load.PerSecond:N0}{Range(runs.Count, min, max)} | {Ms(load.Percentile(50))} | {Ms(load.Percentile(99))} | {load.ServerCpuPerRequest:F0} µs | {load.ClientCpuPerRequest:F0} µs | {runs.Sum(r => r.Errors)}{(runs.Select(r => r.FirstError).FirstOrDefault(e => e is not null) is { } e ? $" ({e})" : "")} |"));
            }

            if (row.Wrk is { } wrk)
            {
                Console.WriteLine(Invariant($"| {row.Call.Name} (wrk -t2) | {wrk.Connections} | {wrk.PerSecond:N0} | | {Ms(wrk.P99Microseconds)} | | | |"));
            }
        }

        Console.WriteLine();
        Console.WriteLine("In-process: the use case called directly (OutgoingProcessing.Options, IncomingAnalysis.Analyse) in a loop per thread;");
        Console.WriteLine("CLI: one whole `dotnet rulemail.dll options|check --json` process, wall time (mean, min–max).");
        Console.WriteLine();
        Console.WriteLine("| work | RuleMail over HTTP (best; its p99) | in-process, 1 thread | in-process, 2 threads | CPU per call in-process, 1 / 2 threads; service over HTTP | CLI per call | HTTP ÷ in-process (2 threads) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var row in rows)
        {
            var best = row.MedianLoads.MaxBy(l => l.PerSecond)!;
            var (two, twoMin, twoMax) = Row.Median(row.Twos, t => t.PerSecond);
            var cli = row.Cli is { } c ? Invariant($"{c.MeanSeconds * 1000:F0} ms ({c.MinSeconds * 1000:F0}–{c.MaxSeconds * 1000:F0})") : "–";
            Console.WriteLine(Invariant(
                $"| {row.Call.Name} | {best.PerSecond:N0}/s at {best.Connections} connections (p99 {Ms(best.Percentile(99))}) | {row.One.PerSecond:N0}/s | {two.PerSecond:N0}/s{Range(row.Twos.Count, twoMin, twoMax)} | {row.One.CpuPerCall:F0} µs / {two.CpuPerCall:F0} µs; {best.ServerCpuPerRequest:F0} µs | {cli} | {best.PerSecond / two.PerSecond:P0} |"));
        }

        Console.WriteLine();
        Console.WriteLine(Invariant($"Load average at the end: {File.ReadAllText("/proc/loadavg").Split(' ')[0]} (anything above 2 is other work sharing these cores)."));
    }

    private static string Range(int rounds, double min, double max) => rounds > 1 ? Invariant($" ({min:N0}–{max:N0})") : string.Empty;

    private static string Ms(double microseconds) => Invariant($"{microseconds / 1000:F2} ms");

    private static void PrintMachine()
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        Console.WriteLine(Invariant($"Machine: {cpu}, {Environment.ProcessorCount} vCPU; {RuntimeInformation.OSDescription}; load average {load} at start"));
        Console.WriteLine(Invariant($"Runtime: {RuntimeInformation.FrameworkDescription}; date {TimeProvider.System.GetUtcNow():yyyy-MM-dd HH:mm} UTC"));
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed record Row(ApiCall Call, InProcessResult One, List<InProcessResult> Twos, List<List<LoadResult>> Loads, WrkResult? Wrk, CliResult? Cli)
    {
        /// <summary>The round with the median rate, and the range over the rounds.</summary>
        public static (T Median, double Min, double Max) Median<T>(List<T> runs, Func<T, double> rate)
        {
            var sorted = runs.OrderBy(rate).ToList();
            return (sorted[(sorted.Count - 1) / 2], rate(sorted[0]), rate(sorted[^1]));
        }

        public IEnumerable<LoadResult> MedianLoads => Loads.Select(runs => Median(runs, l => l.PerSecond).Median);
    }

    private sealed record Options(TimeSpan Duration, TimeSpan Warmup, TimeSpan ServerWarmup, int Rounds, int[] Connections, int CliRuns, string? Only, bool SkipWrk, bool SkipCli)
    {
        public static Options? Parse(string[] args)
        {
            double duration = 10, warmup = 3, serverWarmup = 15;
            int[] connections = [16, 32, 64];
            var cliRuns = 10;
            var rounds = 3;
            string? only = null;
            bool skipWrk = false, skipCli = false;
            for (var i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--duration": duration = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--warmup": warmup = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--server-warmup": serverWarmup = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--connections": connections = [.. Next().Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture))]; break;
                    case "--rounds": rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--cli-runs": cliRuns = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--only": only = Next(); break;
                    case "--skip-wrk": skipWrk = true; break;
                    case "--skip-cli": skipCli = true; break;
                    default: return null;
                }
            }

            return duration > 0 && warmup >= 0 && serverWarmup >= 0 && cliRuns > 0 && rounds > 0 && connections.Length > 0 && connections.All(c => c is > 0 and <= 1024) && only is null or "options" or "check"
                ? new Options(TimeSpan.FromSeconds(duration), TimeSpan.FromSeconds(warmup), TimeSpan.FromSeconds(serverWarmup), rounds, connections, cliRuns, only, skipWrk, skipCli)
                : null;
        }
    }
}
