using static RuleMail.Benchmarks.Pipeline.PipelineBenchmark;

namespace RuleMail.Benchmarks.Cluster;

/// <summary>The cluster benchmark's Markdown tables: the cluster runs by node count, then <c>run --once</c> by state backend.</summary>
internal static class ClusterReport
{
    public static void Print(IReadOnlyList<ClusterRun> cluster, IReadOnlyList<OnceRun> once, int messages, string mix, ClusterOptions options)
    {
        var cores = Environment.ProcessorCount;
        if (cluster.Count > 0)
        {
            Console.WriteLine(Invariant($"Backlog: {messages} messages ({mix}); cluster: workers {options.Workers}, batch {options.Batch}, fetch every {options.Every}, lease 30 s."));
            Console.WriteLine(Invariant($"Real `rulemail run` nodes, fresh database and mailbox each run, {options.Runs} runs each, timed from the backlog's IMAP MOVE into"));
            Console.WriteLine("the INBOX of live, warmed-up nodes until the ledger has every message done and the queue is empty; CPU from /proc:");
            Console.WriteLine();
            Console.WriteLine("| nodes | messages/s, median (range) | wall clock | messages by node | CPU/message: nodes | PostgreSQL | Dovecot | CPUs the nodes got | other work on the machine | I/O wait | DB transactions/message | first listing after |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var group in cluster.GroupBy(r => r.Nodes).OrderBy(g => g.Key))
            {
                var runs = group.OrderBy(r => r.Rate).ToList();
                var median = runs[runs.Count / 2];
                var pinned = string.Join(", ", Enumerable.Range(0, group.Key).Select(i => Invariant($"CPU {i % cores}")));
                double PerMessage(double seconds) => seconds * 1000 / median.Messages;
                Console.WriteLine(
                    Invariant($"| {group.Key} ({pinned}) | {median.Rate:F1} ({runs[0].Rate:F1}–{runs[^1].Rate:F1}) | {median.Seconds:F1} s | {string.Join(" + ", median.ByNode)} | ") +
                    Invariant($"{PerMessage(median.Cost.Nodes):F1} ms | {PerMessage(median.Cost.Postgres):F1} ms | {PerMessage(median.Cost.Dovecot):F1} ms | ") +
                    Invariant($"{median.Cost.Nodes / median.Seconds:F2} | {median.Others / median.Seconds:F2} CPUs | {median.Cost.MachineIoWait / (median.Seconds * cores):P0} | ") +
                    Invariant($"{median.Transactions / (double)median.Messages:F1} | {median.FirstQueued:F1} s |"));
            }

            var one = Median([.. cluster.Where(r => r.Nodes == 1).Select(r => r.Rate)]);
            var two = Median([.. cluster.Where(r => r.Nodes == 2).Select(r => r.Rate)]);
            if (one > 0 && two > 0)
            {
                Console.WriteLine();
                Console.WriteLine(Invariant($"2 nodes ÷ 1 node (medians): {two / one:F2}× (issue 14's target: ≥ 1.7×). PostgreSQL and Dovecot are not pinned: they share the same {cores} CPUs."));
            }

            Console.WriteLine();
        }

        var timed = once.Where(r => !r.Startup).ToList();
        if (timed.Count > 0)
        {
            Console.WriteLine(Invariant($"`taskset -c 0 rulemail run --once`, the same backlog, fresh state and mailbox each run, wall clock of the process, {options.Runs} runs each;"));
            Console.WriteLine("start-up = the same command on an empty mailbox (runtime start, key store and rules, state open, one listing, exit):");
            Console.WriteLine();
            Console.WriteLine("| state | wall clock, median (range) | messages/s | start-up | messages/s after start-up | its CPU/message after start-up |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|");
            foreach (var group in timed.GroupBy(r => r.State))
            {
                var seconds = group.Select(r => r.Seconds).ToList();
                var median = Median(seconds);
                var empty = once.FirstOrDefault(r => r.Startup && r.State == group.Key);
                var startup = empty?.Seconds ?? 0;
                var cpu = (Median([.. group.Select(r => r.Cpu)]) - (empty?.Cpu ?? 0)) * 1000 / messages;
                Console.WriteLine(Invariant(
                    $"| {group.Key} | {median:F1} s ({seconds.Min():F1}–{seconds.Max():F1}) | {messages / median:F1} | {startup:F1} s | {messages / (median - startup):F1} | {cpu:F1} ms |"));
            }

            Console.WriteLine();
        }
    }
}
