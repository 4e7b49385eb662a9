using System.Diagnostics;

namespace RuleMail.Benchmarks.Http;

/// <summary>The wall time of whole <c>rulemail</c> processes, as a ticket system that spawns the CLI waits for them.</summary>
internal sealed record CliResult(int Runs, double MeanSeconds, double MedianSeconds, double MinSeconds, double MaxSeconds);

/// <summary>
/// Runs <c>dotnet rulemail.dll ARGS</c> once to warm the disk cache (not counted), then <c>runs</c> times, each to its
/// end with its output read, and times each with a Stopwatch: process start, runtime start-up, JIT, opening the key
/// store and the rules, the one call, and exit.
/// </summary>
internal static class CliCost
{
    public static CliResult Measure(string workingDirectory, int runs, params string[] arguments)
    {
        RuleMailProcess.Run(workingDirectory, arguments);
        var seconds = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            var watch = Stopwatch.StartNew();
            RuleMailProcess.Run(workingDirectory, arguments);
            seconds.Add(watch.Elapsed.TotalSeconds);
        }

        var sorted = seconds.Order().ToList();
        var median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
        return new CliResult(runs, seconds.Average(), median, sorted[0], sorted[^1]);
    }
}
