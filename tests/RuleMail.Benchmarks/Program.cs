using System.Globalization;
using BenchmarkDotNet.Running;

namespace RuleMail.Benchmarks;

/// <summary>
/// Runs the benchmarks, then prints messages per second per core beside the raw RSA-2048 private-key
/// rate of <c>openssl speed</c> on the same machine (the ceiling for S/MIME: one private operation per message).
/// </summary>
internal static class Program
{
    public static void Main(string[] args)
    {
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        var openssl = OpenSslRsa2048SignsPerSecond();
        Console.WriteLine();
        Console.WriteLine($"openssl speed rsa2048: {openssl:F0} private-key operations/s (one core)");
        foreach (var report in summaries.SelectMany(s => s.Reports).Where(r => r.ResultStatistics is not null))
        {
            var perSecond = 1e9 / report.ResultStatistics!.Mean;
            var name = report.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo;
            if (report.BenchmarkCase.Descriptor.Type == typeof(RuleBenchmarks))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name,-45} {perSecond,8:F0} messages/s = {perSecond * RuleBenchmarks.RulesPerSet,9:F0} rule evaluations/s per core"));
                continue;
            }

            var share = name.Contains("S/MIME", StringComparison.Ordinal) ? $" = {perSecond / openssl:P0} of openssl's raw rate" : string.Empty;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-45} {perSecond,8:F0} messages/s per core{share}"));
        }
    }

    private static double OpenSslRsa2048SignsPerSecond()
    {
        var output = Tools.Run("openssl", Directory.GetCurrentDirectory(), null, "speed", "-seconds", "3", "-mr", "rsa2048");
        var line = output.Split('\n').First(l => l.StartsWith("+F2:", StringComparison.Ordinal));
        return double.Parse(line.Split(':')[3], CultureInfo.InvariantCulture);
    }
}
