using System.Diagnostics;
using System.Globalization;
using MailKit;
using MailKit.Search;
using Npgsql;
using RuleMail.Benchmarks.Http;
using RuleMail.Benchmarks.Pipeline;
using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using static RuleMail.Benchmarks.Pipeline.PipelineBenchmark;

namespace RuleMail.Benchmarks.Cluster;

/// <summary>
/// A cluster of real <c>rulemail run</c> processes on one durable PostgreSQL and one Dovecot (<c>cluster</c>): the same
/// backlog of mixed S/MIME and PGP/MIME mail worked through by 1 node pinned to CPU 0 and by 2 nodes pinned to CPUs 0
/// and 1, each time on a fresh database and a fresh mailbox, timed from the moment the backlog lands in the INBOX of
/// nodes that are alive and warmed up to the moment the ledger has every message done and the queue is empty. Then
/// <c>rulemail run --once</c> on one core with the SQLite state against the same with the PostgreSQL state.
/// </summary>
internal static class ClusterBenchmark
{
    public const string Verb = "cluster";
    private const string Account = "support";
    private const string ConnectionVariable = "RULEMAIL_PG";
    private const string PasswordVariable = "SUPPORT_PASSWORD";
    private const string BacklogFolder = "Backlog";
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    public static async Task<int> RunAsync(string[] args)
    {
        var options = ClusterOptions.Parse(args);
        if (options is null)
        {
            await Console.Error.WriteLineAsync(
                $"usage: {Verb} [--messages N (1000)] [--pgp-percent P (20)] [--runs R (3)] [--warmup N (40)] [--every 1s] " +
                "[--workers N (2)] [--batch N (8)] [--skip-cluster] [--skip-once]");
            return 2;
        }

        PrintMachine();
        var clusterUsers = Enumerable.Range(1, options.Runs).SelectMany(r => new[] { $"one-{r}", $"two-{r}" }).ToList();
        var onceUsers = Enumerable.Range(1, options.Runs).SelectMany(r => new[] { $"sqlite-{r}", $"postgres-{r}" }).Append("empty").ToList();
        await using var dovecot = await DovecotServer.StartAsync([.. clusterUsers.Concat(onceUsers).Select(u => (u, Password))]);
        await using var postgres = await PostgresInstance.StartAsync();
        Console.WriteLine($"Dovecot on {dovecot.Host}:{dovecot.ImapPort}; {postgres.Version}, on port {postgres.Port}");
        var backlog = Mix("backlog", options.Messages, options.PgpPercent);
        var warmup = Mix("warmup", options.Warmup, options.PgpPercent);
        var pgp = backlog.Count(m => m.Kind == MailKind.PgpSignedEncrypted);
        var mixText = Invariant($"{backlog.Count - pgp} {MailKind.SmimeSignedEncrypted.Label} + {pgp} {MailKind.PgpSignedEncrypted.Label}, interleaved");
        Console.WriteLine($"Backlog: {mixText}");
        Console.WriteLine();

        var cluster = new List<ClusterRun>();
        if (!options.SkipCluster)
        {
            // 1 node, 2 nodes, 1 node, ...: a shared machine's drift moves both.
            for (var run = 1; run <= options.Runs; run++)
            {
                foreach (var nodes in new[] { 1, 2 })
                {
                    var user = $"{(nodes == 1 ? "one" : "two")}-{run}";
                    Console.WriteLine(Invariant($"{nodes} node(s), run {run} of {options.Runs} ..."));
                    var result = await ClusterRunAsync(dovecot, postgres, user, nodes, [.. warmup.Select(m => m.Raw)], [.. backlog.Select(m => m.Raw)], options);
                    cluster.Add(result);
                    Console.WriteLine(Invariant(
                        $"{nodes} node(s): {result.Rate:F1} messages/s ({result.Seconds:F1} s; by node {string.Join(" + ", result.ByNode)}; first queued after {result.FirstQueued:F1} s; CPUs: nodes {result.Cost.Nodes / result.Seconds:F2}, PostgreSQL {result.Cost.Postgres / result.Seconds:F2}, Dovecot {result.Cost.Dovecot / result.Seconds:F2}, other work {result.Others / result.Seconds:F2})"));
                }
            }
        }

        var once = new List<OnceRun>();
        if (!options.SkipOnce)
        {
            foreach (var onPostgres in new[] { false, true })
            {
                Console.WriteLine($"run --once on an empty mailbox, {(onPostgres ? "PostgreSQL" : "SQLite")} state (start-up and exit) ...");
                once.Add(await OnceAsync(dovecot, postgres, "empty", onPostgres, [], options, startup: true));
            }

            for (var run = 1; run <= options.Runs; run++)
            {
                foreach (var onPostgres in new[] { false, true })
                {
                    var user = $"{(onPostgres ? "postgres" : "sqlite")}-{run}";
                    Console.WriteLine(Invariant($"run --once, {(onPostgres ? "PostgreSQL" : "SQLite")} state, run {run} of {options.Runs} ..."));
                    var result = await OnceAsync(dovecot, postgres, user, onPostgres, [.. backlog.Select(m => m.Raw)], options, startup: false);
                    once.Add(result);
                    Console.WriteLine(Invariant($"{result.State}: {backlog.Count / result.Seconds:F1} messages/s ({result.Seconds:F1} s, {result.Cpu:F1} s of CPU)"));
                }
            }
        }

        Console.WriteLine();
        ClusterReport.Print(cluster, once, backlog.Count, mixText, options);
        return 0;
    }

    private static async Task<ClusterRun> ClusterRunAsync(
        DovecotServer dovecot, PostgresInstance postgres, string user, int nodes, IReadOnlyList<byte[]> warmup, IReadOnlyList<byte[]> backlog, ClusterOptions options)
    {
        await dovecot.CreateFolderAsync(user, Password, BacklogFolder);
        await AppendAsync(dovecot, user, warmup);
        await AppendAsync(dovecot, user, backlog, BacklogFolder);
        var connection = await postgres.CreateDatabaseAsync();
        using var harness = HostHarness.Create();
        WriteConfig(harness, dovecot, user, options, sqlitePath: null);
        var config = ConfigLoader.Load(harness.ConfigPath, harness.Folder.Path);

        // The schema first, so the cluster's tables can be read before the nodes are up.
        await (await StateStores.OpenAsync(config, Environment(connection), exclusive: false, CancellationToken.None)).DisposeAsync();
        var processes = new List<ServerProcess>();
        try
        {
            for (var i = 0; i < nodes; i++)
            {
                processes.Add(ServerProcess.Start(
                    "/usr/bin/taskset",
                    ["-c", (i % System.Environment.ProcessorCount).ToString(CultureInfo.InvariantCulture), "dotnet", RuleMailProcess.Assembly, "run", "--config", harness.ConfigPath],
                    harness.Folder.Path,
                    "taskset is in util-linux; dotnet must be on PATH",
                    new Dictionary<string, string?>
                    {
                        [ConnectionVariable] = connection,
                        ["RULEMAIL_NODE"] = $"node-{i + 1}",
                        [PasswordVariable] = Password,
                        ["RULEMAIL_KEYSTORE_PASSPHRASE"] = null,
                    }));
            }

            await using var database = NpgsqlDataSource.Create(connection);
            var probe = new ClusterProbe(database);
            await WaitUntilAsync(async () => await probe.AliveAsync() == nodes, processes, "the nodes alive");

            // Warm-up: every node has opened its private keys and compiled its code paths, as a running cluster has.
            await WaitUntilAsync(async () => await probe.ProgressAsync() == (warmup.Count, 0L), processes, "the warm-up done");
            var warmed = processes.Select(p => Finished(p.Output)).ToList();
            await Task.Delay(TimeSpan.FromSeconds(2)); // The warm-up's statistics reach pg_stat_database.
            var before = await Sample.TakeAsync(processes, postgres, dovecot, probe);
            var pollsBefore = probe.Polls;

            await MoveBacklogAsync(dovecot, user);
            var watch = Stopwatch.StartNew();
            double? firstQueued = null;
            var total = warmup.Count + backlog.Count;
            while (true)
            {
                var (done, queued) = await probe.ProgressAsync();
                firstQueued ??= queued > 0 || done > warmup.Count ? watch.Elapsed.TotalSeconds : null;
                if (done == total && queued == 0)
                {
                    break;
                }

                if (watch.Elapsed > Limit || processes.Any(p => p.HasExited))
                {
                    throw new InvalidOperationException($"{done} of {total} done, {queued} queued after {watch.Elapsed.TotalSeconds:F0} s\n{Output(processes)}");
                }

                await Task.Delay(Poll);
            }

            watch.Stop();
            var after = await Sample.TakeAsync(processes, postgres, dovecot, probe);
            await Task.Delay(TimeSpan.FromSeconds(2));
            var commits = await probe.CommitsAsync() - before.Commits;
            var inbox = await dovecot.CountAsync(user, Password);
            if (inbox != total)
            {
                throw new InvalidOperationException($"{inbox} of {total} messages left in the INBOX: the rules moved some (a verification failed?)\n{Output(processes)}");
            }

            return new ClusterRun(nodes, backlog.Count, watch.Elapsed.TotalSeconds, firstQueued ?? 0,
                [.. processes.Select((p, i) => Finished(p.Output) - warmed[i])], after - before, commits - (probe.Polls - pollsBefore));
        }
        finally
        {
            foreach (var process in processes)
            {
                process.Dispose();
            }
        }
    }

    /// <summary><c>taskset -c 0 rulemail run --once</c> on the user's INBOX, wall clock from process start to exit.</summary>
    private static async Task<OnceRun> OnceAsync(
        DovecotServer dovecot, PostgresInstance postgres, string user, bool onPostgres, IReadOnlyList<byte[]> messages, ClusterOptions options, bool startup)
    {
        await AppendAsync(dovecot, user, messages);
        var connection = onPostgres ? await postgres.CreateDatabaseAsync() : null;
        using var harness = HostHarness.Create();
        WriteConfig(harness, dovecot, user, options, onPostgres ? null : harness.StatePath);
        var start = RuleMailProcess.Start(harness.Folder.Path, "run", "--once", "--config", harness.ConfigPath);
        start.ArgumentList.Insert(0, start.FileName);
        foreach (var argument in new[] { "0", "-c" })
        {
            start.ArgumentList.Insert(0, argument);
        }

        start.FileName = "taskset";
        start.Environment[PasswordVariable] = Password;
        start.Environment["RULEMAIL_NODE"] = "once";
        if (connection is not null)
        {
            start.Environment[ConnectionVariable] = connection;
        }

        var cpu = CpuTime.OfExitedChildren();
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("taskset did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Limit);
        watch.Stop();
        cpu = CpuTime.OfExitedChildren() - cpu;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"rulemail run --once failed ({process.ExitCode}):\n{await output}\n{await error}");
        }

        await using (var state = await StateStores.OpenAsync(ConfigLoader.Load(harness.ConfigPath, harness.Folder.Path), Environment(connection), exclusive: false, CancellationToken.None))
        {
            var counts = await state.CountMessagesAsync(Account, CancellationToken.None);
            if (counts.GetValueOrDefault(MessageState.Done) != messages.Count || counts.Values.Sum() != messages.Count)
            {
                throw new InvalidOperationException($"run --once left {string.Join(", ", counts.Select(c => $"{c.Value} {c.Key}"))} of {messages.Count}\n{await output}");
            }
        }

        return new OnceRun(onPostgres ? "PostgreSQL" : "SQLite", startup, watch.Elapsed.TotalSeconds, cpu);
    }

    /// <summary>The account on the user's INBOX, fetched every <c>--every</c>; the state in SQLite at <paramref name="sqlitePath"/> or else on PostgreSQL.</summary>
    private static void WriteConfig(HostHarness harness, DovecotServer dovecot, string user, ClusterOptions options, string? sqlitePath)
    {
        var state = sqlitePath is not null
            ? $"state: {sqlitePath}"
            : $"""
              state:
                postgres:
                  connection_env: {ConnectionVariable}
              cluster:
                lease_seconds: 30
                workers: {options.Workers}
                batch: {options.Batch}
              """;
        var keystore = Path.Combine(HostHarness.RepositoryRoot, "keystore-sample");
        File.WriteAllText(harness.ConfigPath, $"""
            keystore: {keystore}
            keystore_passphrase_file: {Path.Combine(keystore, "passphrase.txt")}
            rules: {harness.RulesDirectory}
            {state}
            accounts:
              - name: {Account}
                address: support@rulemail.test
                fetch:
                  every: {options.Every}
                  imap: {"{"}host: {dovecot.Host}, port: {dovecot.ImapPort}, security: none, user: {user}, password_env: {PasswordVariable}{"}"}
            """);
    }

    /// <summary>Moves the whole backlog into the INBOX in one IMAP MOVE: from here on the nodes can see it.</summary>
    private static async Task MoveBacklogAsync(DovecotServer dovecot, string user)
    {
        using var client = await dovecot.ConnectImapAsync(user, Password);
        var backlog = await client.GetFolderAsync(BacklogFolder);
        await backlog.OpenAsync(FolderAccess.ReadWrite);
        var uids = await backlog.SearchAsync(SearchQuery.All);
        await backlog.MoveToAsync(uids, client.Inbox);
        await client.DisconnectAsync(true);
    }

    /// <summary>The messages, <paramref name="pgpPercent"/> % of them PGP/MIME spread evenly among S/MIME signed+encrypted ones.</summary>
    private static List<(MailKind Kind, byte[] Raw)> Mix(string prefix, int count, int pgpPercent) =>
    [
        .. Enumerable.Range(0, count).Select(i =>
        {
            var kind = (i + 1) * pgpPercent / 100 > i * pgpPercent / 100 ? MailKind.PgpSignedEncrypted : MailKind.SmimeSignedEncrypted;
            return (kind, PipelineMail.Copy(kind, Invariant($"{prefix}-{i:D5}@bench.test")));
        }),
    ];

    private static Func<string, string?> Environment(string? connection) => name => name == ConnectionVariable ? connection : null;

    /// <summary>The messages a node finished, from its log (one line with the decision each).</summary>
    private static int Finished(string log) => log.Split('\n').Count(l => l.Contains("; decision: ", StringComparison.Ordinal));

    private static string Output(IEnumerable<ServerProcess> processes) => string.Join("\n", processes.Select((p, i) => $"==== node-{i + 1} ====\n{p.Output}"));

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, IReadOnlyList<ServerProcess> processes, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            if (watch.Elapsed > Limit || processes.Any(p => p.HasExited))
            {
                throw new InvalidOperationException($"{what}: not within {watch.Elapsed.TotalSeconds:F0} s\n{Output(processes)}");
            }

            await Task.Delay(Poll);
        }
    }
}
