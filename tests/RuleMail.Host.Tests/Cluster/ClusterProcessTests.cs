using System.Globalization;
using RuleMail.Core.Tests.Support;
using RuleMail.Host.Tests.Processing;
using RuleMail.Host.Tests.Support;
using Xunit.Abstractions;

namespace RuleMail.Host.Tests.Cluster;

/// <summary>
/// Real <c>rulemail run</c> processes as the nodes of a cluster on one PostgreSQL and one mailbox (a Dovecot mailbox over
/// IMAP, or a Maildir all nodes read, queued per file alike): each of 300 messages gives one acknowledged webhook call and
/// is moved or left once, with two nodes and with three nodes killed (SIGKILL) at random moments and restarted; and with a
/// node paused (SIGSTOP) past its lease and resumed, which writes nothing stale. Two nodes sharing one outbox send each
/// message once and both send some, also with a node killed (SIGKILL) while sending and restarted, and with a node paused
/// (SIGSTOP) past its claims while its messages are in flight, which records nothing stale; <c>run --once</c> on a cluster
/// sends the outbox itself, and works through every batch of its queue on one mailbox session.
/// </summary>
[Collection(PostgresTests.Name)]
public sealed class ClusterProcessTests(PostgresServer postgres, ITestOutputHelper output)
{
    private const int Total = 300;
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    [Theory]
    [InlineData(MailboxKind.Imap)]
    [InlineData(MailboxKind.Maildir)]
    public async Task Two_nodes_share_one_mailbox_and_each_message_gives_one_webhook_call_and_is_moved_once(MailboxKind mailbox)
    {
        await using var cluster = await ClusterNodes.CreateAsync(postgres, mailbox: mailbox);
        cluster.Start("a");
        cluster.Start("b");
        await cluster.WaitUntilAsync(async () => (await cluster.AliveAsync()).Count == 2, Limit, "both nodes alive");
        var failed = await cluster.AppendMixAsync(Total);

        await cluster.WaitForAllDoneAsync(Total, Limit);

        // rulemail cluster status, from a machine that runs no node: both nodes, an empty queue.
        var status = cluster.Cli("cluster", "status", "--json");
        Assert.True(status.ExitCode == 0, status.StandardError);
        var document = Json.ContractJson.Deserialize<Json.ClusterStatusDocument>(status.StandardOutputText)!;
        Assert.Equal(["a", "b"], document.Nodes.Where(n => n.State == "alive").Select(n => n.Node).Order());
        Assert.Equal((0, 0), (document.Queue.Waiting, document.Queue.Claimed));
        var table = cluster.Cli("cluster", "status");
        Assert.Contains("Nodes:   2 alive", table.StandardOutputText, StringComparison.Ordinal);
        Assert.Contains("Queue:   0 waiting, 0 being worked on", table.StandardOutputText, StringComparison.Ordinal);

        await AssertEachHandledOnceAsync(cluster, failed, allowedRepeats: 0);
        Assert.True(cluster.Webhook.Received.Count == Total, $"{cluster.Webhook.Received.Count} calls for {Total} messages");

        // Both nodes worked on the mailbox (each logs the messages it finished), from the queue: the lease holder only
        // listed it, never worked through it whole.
        Assert.True(Finished(cluster["a"].Output) > 0 && Finished(cluster["b"].Output) > 0,
            $"a finished {Finished(cluster["a"].Output)}, b {Finished(cluster["b"].Output)}\n{cluster.Output}");
        Assert.Contains("messages to queue from INBOX", cluster.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("messages to look at in", cluster.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(MailboxKind.Imap)]
    [InlineData(MailboxKind.Maildir)]
    public async Task Three_nodes_killed_at_random_moments_and_restarted_still_handle_each_message_exactly_once(MailboxKind mailbox)
    {
        await using var cluster = await ClusterNodes.CreateAsync(postgres, mailbox: mailbox);
        string[] names = ["a", "b", "c"];
        foreach (var name in names)
        {
            cluster.Start(name);
        }

        await cluster.WaitUntilAsync(async () => (await cluster.AliveAsync()).Count == 3, Limit, "three nodes alive");
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var failed = await cluster.AppendMixAsync(Total);

        var kills = 0;
        foreach (var at in new[] { 30 + random.Next(40), 120 + random.Next(40), 210 + random.Next(40) })
        {
            await cluster.WaitUntilAsync(() => Task.FromResult(cluster.Webhook.Received.Count >= at || AllAcknowledged(cluster)), Limit, $"{at} webhook calls");
            if (AllAcknowledged(cluster))
            {
                break;
            }

            var victim = names[random.Next(names.Length)];
            output.WriteLine($"kill -9 {victim} after {cluster.Webhook.Received.Count} calls");
            cluster[victim].Kill();
            kills++;
            cluster.Start(victim);
        }

        await cluster.WaitForAllDoneAsync(Total, Limit);

        Assert.True(kills > 0, "the batch ended before the first kill");

        // A call in flight when its node was killed is repeated, with the same key, by the node taking the claim over.
        await AssertEachHandledOnceAsync(cluster, failed, allowedRepeats: kills * 2);
    }

    [Fact]
    public async Task A_node_paused_past_its_lease_writes_nothing_stale_when_it_comes_back()
    {
        await using var cluster = await ClusterNodes.CreateAsync(postgres);
        var a = cluster.Start("a");
        cluster.Start("b");
        await cluster.WaitUntilAsync(async () => (await cluster.AliveAsync()).Count == 2, Limit, "both nodes alive");

        // From the 40th call on, the receiver answers nothing until the gate opens: every worker of both nodes ends up
        // waiting for an answer, with its message claimed. Then node a is paused, and the gate opened.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiting = 0;
        cluster.Webhook.BeforeRespond = async request =>
        {
            if (request.Sequence >= 40 && !gate.Task.IsCompleted)
            {
                Interlocked.Increment(ref waiting);
                await gate.Task;
            }
        };
        var failed = await cluster.AppendMixAsync(Total);
        await cluster.WaitUntilAsync(() => Task.FromResult(Volatile.Read(ref waiting) >= 4), Limit, "all four workers waiting for a webhook answer");
        Signal("STOP", a.Id);
        gate.SetResult();

        // b takes over a's claims once they expire and finishes everything.
        await cluster.WaitForAllDoneAsync(Total, Limit);
        var before = await SnapshotAsync(cluster);
        var keysBefore = cluster.Webhook.Received.Select(r => r.IdempotencyKey).ToHashSet(StringComparer.Ordinal);

        // a comes back, hears the answers to its calls and tries to record them before it stops (a message begun is
        // finished, even on SIGTERM): its fences no longer hold, so nothing it writes lands.
        Signal("CONT", a.Id);
        Signal("TERM", a.Id);
        await a.WaitForExitAsync(Limit);

        Assert.Equal(before, await SnapshotAsync(cluster));
        Assert.Contains("expired or was taken over", a.Output, StringComparison.Ordinal);
        Assert.Subset(keysBefore, cluster.Webhook.Received.Select(r => r.IdempotencyKey).ToHashSet(StringComparer.Ordinal));
        await AssertEachHandledOnceAsync(cluster, failed, allowedRepeats: 2);
    }

    [Fact]
    public async Task A_retry_beside_running_nodes_judges_again_once_and_the_message_moved_back_is_not_processed_again()
    {
        await using var cluster = await ClusterNodes.CreateAsync(postgres, ownKeyStore: true);
        cluster.Start("a");
        cluster.Start("b");
        await cluster.WaitUntilAsync(async () => (await cluster.AliveAsync()).Count == 2, Limit, "both nodes alive");
        using (var client = await cluster.Dovecot.ConnectImapAsync(ClusterNodes.User, ClusterNodes.Password))
        {
            for (var i = 0; i < 10; i++)
            {
                using var plain = HostHarness.PlainQuestion(string.Create(CultureInfo.InvariantCulture, $"retry-{i}"));
                await client.Inbox.AppendAsync(new MailKit.AppendRequest(plain));
            }

            await client.DisconnectAsync(true);
        }

        await cluster.Dovecot.AppendAsync(ClusterNodes.User, ClusterNodes.Password, HostHarness.DemoMessage("smime-unknown-signer"));
        await cluster.WaitForAllDoneAsync(11, Limit);
        Assert.Equal(1, await cluster.Dovecot.CountAsync(ClusterNodes.User, ClusterNodes.Password, "Quarantine"));

        // The signer becomes known; a retry from a third process, beside the running nodes, under the account's lease.
        cluster.Harness.ImportIntoKeystore("stranger.crt");
        var retry = cluster.Cli("retry", "--security-failed");
        Assert.True(retry.ExitCode == 0, retry.StandardOutputText + retry.StandardError);

        // Back in INBOX under a new UID: the nodes' next listings see it and leave it (its ledger entry is done).
        Assert.Equal(0, await cluster.Dovecot.CountAsync(ClusterNodes.User, ClusterNodes.Password, "Quarantine"));
        var newest = (await cluster.Dovecot.ListAsync(ClusterNodes.User, ClusterNodes.Password)).Max(m => m.Uid.Id);
        await cluster.WaitUntilAsync(async () =>
        {
            await using var state = await cluster.OpenStateAsync();
            var folder = await state.GetCursorAsync("support", "INBOX", CancellationToken.None);
            return folder?.LastUid >= newest && await cluster.QueueLengthAsync() == 0;
        }, Limit, "the moved-back message listed");

        await using var connection = new Npgsql.NpgsqlConnection(cluster.ConnectionString);
        await connection.OpenAsync();
        Assert.Equal(12, await ScalarAsync(connection, "SELECT count(*) FROM analysis")); // 11 fetched, 1 retried.
        Assert.Equal(11, await ScalarAsync(connection, "SELECT count(*) FROM message WHERE state = 'done'"));
        Assert.Equal(0, await ScalarAsync(connection, "SELECT count(*) FROM side_effect WHERE state <> 'done'"));
        Assert.Equal(12, cluster.Webhook.Acknowledged.Select(r => r.IdempotencyKey).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(11, await cluster.Dovecot.CountAsync(ClusterNodes.User, ClusterNodes.Password));
    }

    [Fact]
    public async Task Two_nodes_sharing_one_outbox_send_each_message_once_and_both_send_some()
    {
        await using var smtp = await SmtpSink.StartAsync();
        using var folder = new TempDirectory("cluster-outbox");
        var outbox = new OutboxFolder(folder.File("outbox"));
        await using var cluster = await OutboxClusterAsync(smtp, outbox);
        cluster.Start("a");
        cluster.Start("b");
        await cluster.WaitUntilAsync(async () => (await cluster.AliveAsync()).Count == 2, Limit, "both nodes alive");
        const int Count = 120;
        DropMany(outbox, Count);

        await WaitForAllSentAsync(cluster, Count);

        var ids = smtp.Messages.Select(m => m.Message.MessageId).ToList();
        Assert.Equal(Count, ids.Count);
        Assert.Equal(Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.Empty(outbox.Pending);
        Assert.Equal(Count, outbox.In(Host.Processing.OutboxSender.SentFolder).Count);

        // Each node's workers claimed and sent some of the files, whichever node's send tick queued them.
        await cluster.WaitUntilAsync(() => Task.FromResult(SentBy(cluster["a"].Output) + SentBy(cluster["b"].Output) >= Count), Limit, "every sent file logged");
        Assert.True(SentBy(cluster["a"].Output) > 0 && SentBy(cluster["b"].Output) > 0,
            $"a sent {SentBy(cluster["a"].Output)}, b {SentBy(cluster["b"].Output)}\n{cluster.Output}");
        Assert.Equal(Count, SentBy(cluster["a"].Output) + SentBy(cluster["b"].Output));

        // The status shows the queue per kind: both kinds, nothing left of either.
        var status = cluster.Cli("cluster", "status", "--json");
        Assert.True(status.ExitCode == 0, status.StandardError);
        var document = Json.ContractJson.Deserialize<Json.ClusterStatusDocument>(status.StandardOutputText)!;
        Assert.Equal([("fetch", 0L, 0L), ("send", 0L, 0L)], document.Queue.Kinds.Select(k => (k.Kind, k.Waiting, k.Claimed)));
    }

    [Fact]
    public async Task A_node_killed_while_sending_and_restarted_still_sends_each_outbox_message_once()
    {
        await using var smtp = await SmtpSink.StartAsync();
        using var folder = new TempDirectory("cluster-outbox");
        var outbox = new OutboxFolder(folder.File("outbox"));
        await using var cluster = await OutboxClusterAsync(smtp, outbox);
        string[] names = ["a", "b"];
        foreach (var name in names)
        {
            cluster.Start(name);
        }

        await cluster.WaitUntilAsync(async () => (await cluster.AliveAsync()).Count == 2, Limit, "both nodes alive");
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        const int Count = 150;
        DropMany(outbox, Count);

        var kills = 0;
        foreach (var at in new[] { 15 + random.Next(30), 70 + random.Next(30) })
        {
            await cluster.WaitUntilAsync(() => Task.FromResult(smtp.Messages.Count >= at), Limit, $"{at} messages at the SMTP server");
            if (outbox.Pending.Count == 0)
            {
                break;
            }

            var victim = names[random.Next(names.Length)];
            output.WriteLine($"kill -9 {victim} after {smtp.Messages.Count} messages");
            cluster[victim].Kill();
            kills++;
            cluster.Start(victim);
        }

        await WaitForAllSentAsync(cluster, Count);

        Assert.True(kills > 0, "the outbox was sent before the first kill");

        // Each message arrived; the only repeats are of a message in flight at a kill: recorded as sending, accepted
        // by the server, not yet recorded as sent. A killed node has at most one such message per worker (2), and
        // the node taking its claim over sends it again with the same Message-ID.
        var ids = smtp.Messages.GroupBy(m => m.Message.MessageId, StringComparer.Ordinal).ToList();
        Assert.Equal(Count, ids.Count);
        var repeated = ids.Sum(g => g.Count() - 1);
        Assert.True(repeated <= kills * 2, $"{repeated} messages sent again after {kills} kills (at most {kills * 2} expected)\n{cluster.Output}");
        Assert.Empty(outbox.Pending);
        Assert.Equal(Count, outbox.In(Host.Processing.OutboxSender.SentFolder).Count);
        Assert.Equal(0, await cluster.QueueLengthAsync());
    }

    [Fact]
    public async Task A_node_paused_past_its_claims_while_sending_records_nothing_stale_when_it_comes_back()
    {
        await using var smtp = await SmtpSink.StartAsync();
        using var folder = new TempDirectory("cluster-outbox");
        var outbox = new OutboxFolder(folder.File("outbox"));
        await using var cluster = await OutboxClusterAsync(smtp, outbox);
        var a = cluster.Start("a");
        cluster.Start("b");
        await cluster.WaitUntilAsync(async () => (await cluster.AliveAsync()).Count == 2, Limit, "both nodes alive");
        const int Count = 80;
        DropMany(outbox, Count);

        // After the first messages, the server holds its answer to DATA: every worker of both nodes ends up waiting
        // for it with a message in flight (recorded as sending). Then node a is paused, and the server answers.
        await cluster.WaitUntilAsync(() => Task.FromResult(smtp.Messages.Count >= 8), Limit, "the first messages sent");
        smtp.Hold();
        await cluster.WaitUntilAsync(() => Task.FromResult(smtp.Held >= 4), Limit, "all four workers waiting for the server's answer");
        Signal("STOP", a.Id);
        smtp.Answer();

        // b takes over a's claims once they expire and sends everything, a's messages in flight again.
        await WaitForAllSentAsync(cluster, Count);
        var before = await SnapshotAsync(cluster);
        var filesBefore = Files(outbox.Path);

        // a comes back, hears the server accept its messages and tries to record them before it stops (a file begun is
        // finished, even on SIGTERM): its claims no longer hold, so nothing it writes lands.
        Signal("CONT", a.Id);
        Signal("TERM", a.Id);
        await a.WaitForExitAsync(Limit);

        Assert.Equal(before, await SnapshotAsync(cluster));
        Assert.Equal(filesBefore, Files(outbox.Path));
        Assert.Contains("expired or was taken over", a.Output, StringComparison.Ordinal);

        // Each message arrived; repeated only are a's messages in flight at the pause (one per worker at most).
        var ids = smtp.Messages.GroupBy(m => m.Message.MessageId, StringComparer.Ordinal).ToList();
        Assert.Equal(Count, ids.Count);
        var repeated = ids.Sum(g => g.Count() - 1);
        Assert.True(repeated <= 2, $"{repeated} messages sent again (at most 2 expected)\n{cluster.Output}");
        Assert.Equal(Count, outbox.In(Host.Processing.OutboxSender.SentFolder).Count);
    }

    [Fact]
    public async Task Run_once_on_a_cluster_sends_the_whole_outbox_itself()
    {
        await using var smtp = await SmtpSink.StartAsync();
        using var folder = new TempDirectory("cluster-outbox");
        var outbox = new OutboxFolder(folder.File("outbox"));
        await using var cluster = await OutboxClusterAsync(smtp, outbox);
        const int Count = 20;
        DropMany(outbox, Count);

        var run = cluster.Cli("run", "--once");

        Assert.True(run.ExitCode == 0, run.StandardOutputText + run.StandardError);
        Assert.Equal(Count, smtp.Messages.Select(m => m.Message.MessageId).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(Count, smtp.Messages.Count);
        Assert.Empty(outbox.Pending);
        Assert.Equal(0, await cluster.QueueLengthAsync());
    }

    /// <summary>A cluster whose one account only sends: its outbox to <paramref name="smtp"/>, a send tick every second.</summary>
    private async Task<ClusterNodes> OutboxClusterAsync(SmtpSink smtp, OutboxFolder outbox) =>
        await ClusterNodes.CreateAsync(postgres, fetch: false, extraAccountYaml: $"""
                send:
                  every: 1s
                  outbox: {outbox.Path}
                  smtp:
                    host: {smtp.Host}
                    port: {smtp.Port}
                    security: none
            """);

    /// <summary>Puts <paramref name="count"/> messages into the outbox at once, each with its own Message-ID, each file appearing whole.</summary>
    private static void DropMany(OutboxFolder outbox, int count)
    {
        for (var i = 0; i < count; i++)
        {
            outbox.DropWhole(string.Create(CultureInfo.InvariantCulture, $"m{i:000}.eml"),
                OutboxFolder.Mail("carol@example.test", $"Answer {i}", "Hello", string.Create(CultureInfo.InvariantCulture, $"out-{i}@rulemail.test")));
        }
    }

    [Fact]
    public async Task Run_once_on_a_cluster_lists_then_works_through_every_batch_of_the_queue_on_one_mailbox_session()
    {
        await using var cluster = await ClusterNodes.CreateAsync(postgres);
        const int Count = 40; // Five batches of eight.
        using (var client = await cluster.Dovecot.ConnectImapAsync(ClusterNodes.User, ClusterNodes.Password))
        {
            for (var i = 0; i < Count; i++)
            {
                using var message = HostHarness.PlainQuestion(string.Create(CultureInfo.InvariantCulture, $"once-{i}"));
                await client.Inbox.AppendAsync(new MailKit.AppendRequest(message));
            }

            await client.DisconnectAsync(true);
        }

        var before = Lines(cluster.Dovecot.Log, LoginLine);
        var loggedOut = Lines(cluster.Dovecot.Log, "Disconnected: Logged out");

        var run = cluster.Cli("run", "--once");
        Assert.True(run.ExitCode == 0, run.StandardError + run.StandardOutputText);

        // Dovecot's log process writes what its login processes tell it: wait for the run's sessions to be logged out.
        await cluster.WaitUntilAsync(() => Task.FromResult(Lines(cluster.Dovecot.Log, "Disconnected: Logged out") - loggedOut >= 2), Limit, "the run's sessions in Dovecot's log");
        var logins = Lines(cluster.Dovecot.Log, LoginLine) - before;
        await using var connection = new Npgsql.NpgsqlConnection(cluster.ConnectionString);
        await connection.OpenAsync();
        Assert.Equal(Count, await ScalarAsync(connection, "SELECT count(*) FROM message WHERE state = 'done'"));
        Assert.Equal(0, await ScalarAsync(connection, "SELECT count(*) FROM work_item"));
        Assert.Equal(Count, cluster.Webhook.Acknowledged.Select(r => r.IdempotencyKey).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(Count, await cluster.Dovecot.CountAsync(ClusterNodes.User, ClusterNodes.Password));

        // One login lists the folder, one works through all five batches (not one login per batch).
        Assert.True(logins == 2, $"{logins} IMAP logins for one listing and five batches\n{cluster.Dovecot.Log}");
    }

    private const string LoginLine = "Login: user=<" + ClusterNodes.User + ">";

    private static int Lines(string dovecotLog, string line) => dovecotLog.Split('\n').Count(l => l.Contains(line, StringComparison.Ordinal));

    private static Task WaitForAllSentAsync(ClusterNodes cluster, int count) => cluster.WaitUntilAsync(async () =>
    {
        await using var state = await cluster.OpenStateAsync();
        var sent = await state.ListOutboxAsync("support", Host.State.OutboxState.Sent, 1000, CancellationToken.None);
        return sent.Count == count && await cluster.QueueLengthAsync() == 0;
    }, Limit, $"{count} outbox messages sent");

    /// <summary>The outbox files a node's workers sent, by its log (a worker logs each file it sent).</summary>
    private static int SentBy(string log) => log.Split('\n').Count(l => l.Contains(": outbox m", StringComparison.Ordinal) && l.Contains(": sent", StringComparison.Ordinal));

    /// <summary>Every file under <paramref name="path"/>, with its size, in order.</summary>
    private static string Files(string path) => string.Join('\n', Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
        .Select(f => $"{Path.GetRelativePath(path, f)} {new FileInfo(f).Length}").Order(StringComparer.Ordinal));

    private static bool AllAcknowledged(ClusterNodes cluster) =>
        cluster.Webhook.Acknowledged.Select(r => r.IdempotencyKey).Distinct(StringComparer.Ordinal).Count() >= Total;

    private static int Finished(string log) => log.Split('\n').Count(l => l.Contains("; decision: ", StringComparison.Ordinal));

    private static void Signal(string signal, int pid) => ExternalTool.Run("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)]);

    /// <summary>
    /// Every message acknowledged by the webhook under its own key (repeats only of a call in flight at a kill or pause,
    /// with the same key), analysed once, every step done; tampered mail in Quarantine with its keyword, the rest in INBOX,
    /// each delivered message in one of them exactly once.
    /// </summary>
    private static async Task AssertEachHandledOnceAsync(ClusterNodes cluster, int failed, int allowedRepeats)
    {
        var acknowledged = cluster.Webhook.Acknowledged.GroupBy(r => r.IdempotencyKey, StringComparer.Ordinal).ToList();
        Assert.Equal(Total, acknowledged.Count);
        var repeated = acknowledged.Count(g => g.Count() > 1);
        Assert.True(repeated <= allowedRepeats, $"{repeated} calls repeated (at most {allowedRepeats} expected)\n{cluster.Output}");

        await using var connection = new Npgsql.NpgsqlConnection(cluster.ConnectionString);
        await connection.OpenAsync();
        Assert.Equal(Total, await ScalarAsync(connection, "SELECT count(*) FROM message WHERE state = 'done'"));
        Assert.Equal(Total, await ScalarAsync(connection, "SELECT count(*) FROM analysis"));
        // Nothing pending or failed. A move made just before its node was killed, and not yet recorded, is found gone by
        // the node taking over (skipped): the message was moved once, as the mailbox below shows.
        Assert.Equal(0, await ScalarAsync(connection, "SELECT count(*) FROM side_effect WHERE state NOT IN ('done', 'skipped')"));
        Assert.Equal(0, await ScalarAsync(connection,
            allowedRepeats == 0 ? "SELECT count(*) FROM side_effect WHERE state <> 'done'" : "SELECT count(*) FROM side_effect WHERE state = 'skipped' AND kind <> 'move'"));
        Assert.Equal(0, await ScalarAsync(connection, "SELECT count(*) FROM work_item"));

        var quarantine = await cluster.Mailbox.ListAsync("Quarantine");
        var inbox = await cluster.Mailbox.ListAsync("INBOX");
        Assert.Equal(failed, quarantine.Count);
        Assert.All(quarantine, m => Assert.Contains("security-failed", m.Keywords));
        Assert.Equal(Total - failed, inbox.Count);
        Assert.Equal(cluster.Delivered.Order(StringComparer.Ordinal), inbox.Concat(quarantine).Select(m => m.MessageId).Order(StringComparer.Ordinal));
        if (cluster.Mailbox is MaildirClusterMailbox maildir)
        {
            Assert.Empty(maildir.LeftInTmp());
        }
    }

    /// <summary>Everything the ledger says about every message, its analyses and side effects, and the queue.</summary>
    private static async Task<string> SnapshotAsync(ClusterNodes cluster)
    {
        await using var connection = new Npgsql.NpgsqlConnection(cluster.ConnectionString);
        await connection.OpenAsync();
        var text = new System.Text.StringBuilder();
        foreach (var table in new[] { "message", "analysis", "side_effect", "work_item", "folder_cursor", "outbox" })
        {
            await using var command = new Npgsql.NpgsqlCommand($"SELECT * FROM {table}", connection);
            await using var reader = await command.ExecuteReaderAsync();
            var rows = new List<string>();
            while (await reader.ReadAsync())
            {
                var values = new object[reader.FieldCount];
                reader.GetValues(values);
                rows.Add(string.Join('|', values.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture))));
            }

            rows.Sort(StringComparer.Ordinal);
            text.Append(table).Append('\n').AppendJoin('\n', rows).Append('\n');
        }

        return text.ToString();
    }

    private static async Task<long> ScalarAsync(Npgsql.NpgsqlConnection connection, string sql)
    {
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
}
