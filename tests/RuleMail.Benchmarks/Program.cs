using System.Globalization;
using BenchmarkDotNet.Running;
using RuleMail.Benchmarks.Cluster;
using RuleMail.Benchmarks.Http;
using RuleMail.Benchmarks.Pipeline;
using RuleMail.Benchmarks.SmimePeers;

namespace RuleMail.Benchmarks;

/// <summary>
/// Runs the benchmarks, then prints messages per second per core beside the raw RSA-2048 private-key
/// rate of <c>openssl speed</c> on the same machine (the ceiling for S/MIME: one private operation per message).
/// With <c>pipeline</c> first, runs the end-to-end pipeline benchmark against a real Dovecot instead
/// (<see cref="PipelineBenchmark"/>; <c>pipeline --help</c> lists its options). With <c>http</c> first, loads the HTTP API of
/// a <c>rulemail serve</c> process beside the in-process and CLI cost of the same calls (<see cref="HttpBenchmark"/>). With
/// <c>cluster</c> first, times real <c>rulemail run</c> nodes on PostgreSQL working through a backlog (<see cref="ClusterBenchmark"/>). With
/// <c>pgp-peers</c> first, measures OpenPGP RSA beside gpg and openssl speed in the same run (<see cref="PgpPeersBenchmark"/>). With
/// <c>smime-peers</c> first, S/MIME in-process beside Ruby's OpenSSL doing what Zammad does (<see cref="SmimePeersBenchmark"/>).
/// With <c>keystore</c> first, times <c>rulemail</c> commands and lookups on a key store of 20,000 entries (<see cref="KeyStores.KeyStoreBenchmark"/>).
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        switch (args)
        {
            case [PipelineBenchmark.Verb, .. var rest]:
                return PipelineBenchmark.RunAsync(rest).GetAwaiter().GetResult();
            case [HttpBenchmark.Verb, .. var rest]:
                return HttpBenchmark.RunAsync(rest).GetAwaiter().GetResult();
            case [ClusterBenchmark.Verb, .. var rest]:
                return ClusterBenchmark.RunAsync(rest).GetAwaiter().GetResult();
            case [PgpPeersBenchmark.Verb, .. var rest]:
                return PgpPeersBenchmark.Run(rest);
            case [SmimePeersBenchmark.Verb, .. var rest]:
                return SmimePeersBenchmark.Run(rest);
            case [KeyStores.KeyStoreBenchmark.Verb, .. var rest]:
                return KeyStores.KeyStoreBenchmark.Run(rest);
            case [PipelineChild.Verb, .. var rest]:
                return PipelineChild.RunAsync(rest).GetAwaiter().GetResult();
        }

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

        return 0;
    }

    private static double OpenSslRsa2048SignsPerSecond()
    {
        var output = Tools.Run("openssl", Directory.GetCurrentDirectory(), null, "speed", "-seconds", "3", "-mr", "rsa2048");
        var line = output.Split('\n').First(l => l.StartsWith("+F2:", StringComparison.Ordinal));
        return double.Parse(line.Split(':')[3], CultureInfo.InvariantCulture);
    }
}
