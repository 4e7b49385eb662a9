using System.Globalization;

namespace RuleMail.Benchmarks.Cluster;

/// <summary>The cluster benchmark's command line.</summary>
internal sealed record ClusterOptions(int Messages, int PgpPercent, int Runs, int Warmup, string Every, int Workers, int Batch, bool SkipCluster, bool SkipOnce)
{
    public static ClusterOptions? Parse(string[] args)
    {
        var options = new ClusterOptions(1000, 20, 3, 40, "1s", 2, 8, SkipCluster: false, SkipOnce: false);
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Number() => int.Parse(Next(), CultureInfo.InvariantCulture);
            options = args[i] switch
            {
                "--messages" => options with { Messages = Number() },
                "--pgp-percent" => options with { PgpPercent = Number() },
                "--runs" => options with { Runs = Number() },
                "--warmup" => options with { Warmup = Number() },
                "--every" => options with { Every = Next() },
                "--workers" => options with { Workers = Number() },
                "--batch" => options with { Batch = Number() },
                "--skip-cluster" => options with { SkipCluster = true },
                "--skip-once" => options with { SkipOnce = true },
                _ => null,
            };
            if (options is null)
            {
                return null;
            }
        }

        return options is { Messages: > 0, PgpPercent: >= 0 and <= 100, Runs: > 0, Warmup: > 0, Workers: > 0, Batch: > 0 } ? options : null;
    }
}
