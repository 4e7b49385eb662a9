using System.Globalization;
using System.Text.RegularExpressions;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Benchmarks.Http;

/// <summary>What <c>wrk --latency</c> reported: requests per second and its 99th percentile, µs.</summary>
internal sealed record WrkResult(int Connections, double PerSecond, double P99Microseconds);

/// <summary>
/// The same load with <c>wrk</c> (Debian: <c>apt-get install wrk</c>), a C load generator that costs the shared cores
/// less than the .NET loop, as a cross-check of <see cref="LoadLoop"/>: two threads, the given keep-alive connections.
/// Skipped (null) when wrk is not installed.
/// </summary>
internal static partial class WrkCrossCheck
{
    public static bool IsInstalled => ExternalTool.TryRun("sh", ["-c", "command -v wrk"]).ExitCode == 0;

    public static WrkResult? Run(ServedApi api, ApiCall call, int connections, TimeSpan duration, string folder)
    {
        if (!IsInstalled)
        {
            return null;
        }

        var body = Path.Combine(folder, $"{call.Name}.body");
        File.WriteAllBytes(body, call.Body);
        var script = Path.Combine(folder, $"{call.Name}.lua");
        File.WriteAllText(script, $"""
            wrk.method = "POST"
            local f = io.open([[{body}]], "rb")
            wrk.body = f:read("*a")
            f:close()
            wrk.headers["Content-Type"] = "{call.ContentType}"
            wrk.headers["Authorization"] = "Bearer {api.Token}"
            """);
        var seconds = ((int)Math.Ceiling(duration.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        var output = Tools.Run("wrk", folder, null,
            "-t2", $"-c{connections.ToString(CultureInfo.InvariantCulture)}", $"-d{seconds}s", "--latency", "-s", script, new Uri(api.BaseAddress, call.Path).ToString());
        if (NonSuccess().Match(output) is { Success: true } bad)
        {
            throw new InvalidOperationException($"wrk {call.Name}: {bad.Value.Trim()} — the service refused requests:\n{output}");
        }

        var rate = double.Parse(RequestsPerSecond().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var p99 = P99().Match(output);
        var value = double.Parse(p99.Groups[1].Value, CultureInfo.InvariantCulture);
        var microseconds = p99.Groups[2].Value switch
        {
            "us" => value,
            "ms" => value * 1000,
            "s" => value * 1_000_000,
            var unit => throw new InvalidOperationException($"wrk printed the unit {unit}"),
        };
        return new WrkResult(connections, rate, microseconds);
    }

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"^\s+99%\s+([0-9.]+)(us|ms|s)\s*$", RegexOptions.Multiline)]
    private static partial Regex P99();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+\d+")]
    private static partial Regex NonSuccess();
}
