using RuleMail.Host.Cluster;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Cluster;

/// <summary>
/// The cluster's coordination on a real PostgreSQL: a lease is one node's until it expires or is given back, then the
/// next holder gets a new fencing number; queued messages are claimed by one worker each, skipping rows another is
/// claiming; an expired claim is taken over; and a fenced state refuses every write (and the seal before a webhook)
/// once its lease or claim has been taken over, while the new holder's writes go through.
/// </summary>
[Collection(PostgresTests.Name)]
public sealed class PostgresClusterTests(PostgresServer server) : IAsyncLifetime
{
    private static readonly CancellationToken Ct = CancellationToken.None;
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(300);
    private string _database = null!;
    private PostgresStateStore _state = null!;

    public async Task InitializeAsync()
    {
        _database = await server.CreateDatabaseAsync();
        _state = await PostgresStateStore.OpenAsync(_database, Ct);
    }

    public async Task DisposeAsync() => await _state.DisposeAsync();

    [Fact]
    public async Task A_lease_is_one_nodes_until_given_back_and_the_next_holder_gets_a_higher_fence()
    {
        await using var a = Node("a", TimeSpan.FromMinutes(1));
        await using var b = Node("b", TimeSpan.FromMinutes(1));

        var first = await a.TryTakeLeaseAsync("fetch:support", Ct);
        Assert.NotNull(first);
        Assert.Null(await b.TryTakeLeaseAsync("fetch:support", Ct));
        Assert.Null(await a.TryTakeLeaseAsync("fetch:support", Ct)); // Not re-entrant: a second run on the same node waits too.

        await a.ReleaseAsync(first, Ct);
        var second = await b.TryTakeLeaseAsync("fetch:support", Ct);

        Assert.NotNull(second);
        Assert.True(second.Number > first.Number);
        Assert.NotNull(await a.TryTakeLeaseAsync("send:support", Ct)); // Another name is another lease.
    }

    [Fact]
    public async Task An_expired_lease_is_taken_over_and_the_old_holders_fenced_writes_are_refused()
    {
        await using var a = Node("a", Short);
        await using var b = Node("b", TimeSpan.FromMinutes(1));
        var stale = (await a.TryTakeLeaseAsync("fetch:support", Ct))!;
        var staleState = _state.Fenced(stale);
        await staleState.SetCursorAsync(new FolderCursor("support", "INBOX", 7, 1), Ct); // Holds: written.

        Lease? taken = null;
        await WaitUntilAsync(async () => (taken = await b.TryTakeLeaseAsync("fetch:support", Ct)) is not null);

        var refused = await Assert.ThrowsAsync<FencedOffException>(() => staleState.SetCursorAsync(new FolderCursor("support", "INBOX", 7, 99), Ct));
        Assert.Contains("fetch:support", refused.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<FencedOffException>(() => staleState.SealAsync(Ct));
        await _state.Fenced(taken!).SetCursorAsync(new FolderCursor("support", "INBOX", 7, 5), Ct);
        Assert.Equal(5u, (await _state.GetCursorAsync("support", "INBOX", Ct))!.LastUid);

        // The old holder's heartbeat does not win it back, and giving it back does not free the new holder's lease.
        await a.KeepAliveAsync(Ct);
        await a.ReleaseAsync(stale, Ct);
        Assert.Null(await a.TryTakeLeaseAsync("fetch:support", Ct));
    }

    [Fact]
    public async Task Queued_messages_are_claimed_once_oldest_first_and_only_under_the_listers_lease()
    {
        await using var lister = Node("lister", TimeSpan.FromMinutes(1));
        await using var a = Node("a", TimeSpan.FromMinutes(1));
        await using var b = Node("b", TimeSpan.FromMinutes(1));
        var lease = (await lister.TryTakeLeaseAsync("fetch:support", Ct))!;
        var items = Enumerable.Range(1, 20).Select(i => Item(i)).ToList();

        Assert.Equal(20, await lister.EnqueueAsync(lease, items, Ct));
        Assert.Equal(0, await lister.EnqueueAsync(lease, items.Take(5).ToList(), Ct)); // Queued already: left as it is.

        var claimsA = await a.ClaimAsync(8, Ct);
        var claimsB = await b.ClaimAsync(8, Ct);
        var rest = await a.ClaimAsync(8, Ct);

        Assert.Equal(items.Take(8).Select(i => i.SourceKey), claimsA.Select(c => c.Item.SourceKey));
        Assert.Equal(items.Skip(8).Take(8).Select(i => i.SourceKey), claimsB.Select(c => c.Item.SourceKey));
        Assert.Equal(4, rest.Count);
        Assert.Empty(await b.ClaimAsync(8, Ct));
        Assert.Equal(claimsA[0].Item, items[0]);

        // Done: off the queue; given back: claimable again at once.
        Assert.True(await a.CompleteAsync(claimsA[0], Ct));
        await b.ReleaseAsync(claimsB[0], Ct);
        var again = await a.ClaimAsync(8, Ct);
        Assert.Equal([claimsB[0].Item.SourceKey], again.Select(c => c.Item.SourceKey));
        Assert.True(again[0].Number > claimsB[0].Number);

        var status = await lister.StatusAsync(null, Ct);
        Assert.Equal(0, status.Queue.Waiting);
        Assert.Equal(19, status.Queue.Claimed);

        // A lister whose lease went to another node queues nothing.
        await lister.ReleaseAsync(lease, Ct);
        await Assert.ThrowsAsync<FencedOffException>(() => lister.EnqueueAsync(lease, [Item(99)], Ct));
    }

    [Fact]
    public async Task An_expired_claim_is_taken_over_and_the_old_workers_writes_and_completion_are_refused()
    {
        await using var lister = Node("lister", TimeSpan.FromMinutes(1));
        await using var a = Node("a", Short);
        await using var b = Node("b", TimeSpan.FromMinutes(1));
        var lease = (await lister.TryTakeLeaseAsync("fetch:support", Ct))!;
        await lister.EnqueueAsync(lease, [Item(1)], Ct);
        var stale = Assert.Single(await a.ClaimAsync(8, Ct));
        var staleState = _state.Fenced(stale);
        await staleState.RecordAsync(Entry(1, "first"), [], Ct);

        IReadOnlyList<Claim> taken = [];
        await WaitUntilAsync(async () => (taken = await b.ClaimAsync(8, Ct)).Count == 1);

        await Assert.ThrowsAsync<FencedOffException>(() => staleState.RecordAsync(Entry(1, "stale"), [], Ct));
        Assert.False(await a.CompleteAsync(stale, Ct));
        await a.KeepAliveAsync(Ct); // The old worker's heartbeat does not renew a claim that is no longer its.
        await _state.Fenced(taken[0]).RecordAsync(Entry(1, "new owner"), [], Ct);

        var entry = (await _state.FindMessagesAsync("support", "INBOX", ["7:1"], Ct))["7:1"];
        Assert.Equal("new owner", entry.Subject);
        Assert.True(await b.CompleteAsync(taken[0], Ct));
        Assert.Equal(0, (await b.StatusAsync(null, Ct)).Queue.Waiting);
    }

    [Fact]
    public async Task Recording_a_claimed_message_done_takes_it_off_the_queue_in_the_same_commit_and_only_that_message()
    {
        await using var lister = Node("lister", TimeSpan.FromMinutes(1));
        await using var a = Node("a", TimeSpan.FromMinutes(1));
        var lease = (await lister.TryTakeLeaseAsync("fetch:support", Ct))!;
        await lister.EnqueueAsync(lease, [Item(1), Item(2)], Ct);
        var claims = await a.ClaimAsync(8, Ct);
        var state = _state.Fenced(claims[0]);
        await state.RecordAsync(Entry(1, "one"), [], Ct);
        await _state.Fenced(claims[1]).RecordAsync(Entry(2, "two"), [], Ct);

        // Another message's entry recorded done under this claim (a superseded one) leaves both rows queued.
        await state.UpdateMessageAsync(Entry(2, "two") with { State = MessageState.Done }, Ct);
        Assert.False(claims[0].Finished);
        await state.UpdateMessageAsync(Entry(1, "one") with { State = MessageState.Retry, Attempts = 1 }, Ct);
        Assert.False(claims[0].Finished);
        Assert.Equal(2, (await a.StatusAsync(null, Ct)).Queue.Claimed);

        await state.UpdateMessageAsync(Entry(1, "one") with { State = MessageState.Done }, Ct);

        Assert.True(claims[0].Finished);
        Assert.Equal(1, (await a.StatusAsync(null, Ct)).Queue.Claimed);
        Assert.True(await a.CompleteAsync(claims[0], Ct)); // Nothing left to take off: already done.
        Assert.False(claims[1].Finished);
        Assert.True(await a.CompleteAsync(claims[1], Ct));
        Assert.Equal(0, (await a.StatusAsync(null, Ct)).Queue.Claimed);
    }

    [Fact]
    public async Task An_analysis_that_leaves_a_claimed_message_with_nothing_to_do_takes_it_off_the_queue_in_its_commit()
    {
        await using var lister = Node("lister", TimeSpan.FromMinutes(1));
        await using var a = Node("a", TimeSpan.FromMinutes(1));
        var lease = (await lister.TryTakeLeaseAsync("fetch:support", Ct))!;
        await lister.EnqueueAsync(lease, [Item(1), Item(2)], Ct);
        var claims = await a.ClaimAsync(8, Ct);
        var done = Entry(1, "nothing to do") with { State = MessageState.Done, SecurityJson = "{}", DecisionJson = "{}", AnalysisVersion = 1 };
        var planned = Entry(2, "a plan") with { State = MessageState.Processing, SecurityJson = "{}", DecisionJson = "{}", AnalysisVersion = 1 };

        await _state.Fenced(claims[0]).RecordAnalysisAsync(done, MessageAnalysis.Of(done, 1, AnalysisTrigger.Fetch, false, DateTimeOffset.UnixEpoch), [], Ct);
        await _state.Fenced(claims[1]).RecordAnalysisAsync(planned, MessageAnalysis.Of(planned, 1, AnalysisTrigger.Fetch, false, DateTimeOffset.UnixEpoch), [], Ct);

        Assert.True(claims[0].Finished);
        Assert.False(claims[1].Finished);
        Assert.Equal(1, (await a.StatusAsync(null, Ct)).Queue.Claimed);
    }

    [Fact]
    public async Task A_done_write_under_a_claim_taken_over_is_refused_and_leaves_the_message_queued_for_its_new_owner()
    {
        await using var lister = Node("lister", TimeSpan.FromMinutes(1));
        await using var a = Node("a", Short);
        await using var b = Node("b", TimeSpan.FromMinutes(1));
        var lease = (await lister.TryTakeLeaseAsync("fetch:support", Ct))!;
        await lister.EnqueueAsync(lease, [Item(1)], Ct);
        var stale = Assert.Single(await a.ClaimAsync(8, Ct));
        await _state.Fenced(stale).RecordAsync(Entry(1, "first"), [], Ct);
        IReadOnlyList<Claim> taken = [];
        await WaitUntilAsync(async () => (taken = await b.ClaimAsync(8, Ct)).Count == 1);

        await Assert.ThrowsAsync<FencedOffException>(() => _state.Fenced(stale).UpdateMessageAsync(Entry(1, "first") with { State = MessageState.Done }, Ct));

        Assert.False(stale.Finished);
        Assert.Equal(MessageState.Retry, (await _state.FindMessagesAsync("support", "INBOX", ["7:1"], Ct))["7:1"].State);
        Assert.Equal(1, (await b.StatusAsync(null, Ct)).Queue.Claimed);
        await _state.Fenced(taken[0]).UpdateMessageAsync(Entry(1, "first") with { State = MessageState.Done }, Ct);
        Assert.True(taken[0].Finished);
        Assert.Equal(0, (await b.StatusAsync(null, Ct)).Queue.Claimed);
    }

    [Fact]
    public async Task An_outbox_file_and_a_message_of_the_same_folder_and_key_are_separate_work_and_a_batch_is_of_one_kind()
    {
        await using var lister = Node("lister", TimeSpan.FromMinutes(1));
        await using var a = Node("a", TimeSpan.FromMinutes(1));
        await using var b = Node("b", TimeSpan.FromMinutes(1));
        var fetchLease = (await lister.TryTakeLeaseAsync("fetch:support", Ct))!;
        var sendLease = (await lister.TryTakeLeaseAsync("send:support", Ct))!;

        // An IMAP folder named like the outbox, a message key like a file name: only the kind tells them apart.
        var message = new WorkItem("support", "/srv/outbox", "m1.eml", 7, 1, Listed: true);
        var file = WorkItem.OutboxFile("support", "/srv/outbox", "m1.eml");
        var other = WorkItem.OutboxFile("support", "/srv/outbox", "m2.eml");
        Assert.Equal(1, await lister.EnqueueAsync(fetchLease, [message], Ct));
        Assert.Equal(2, await lister.EnqueueAsync(sendLease, [file, other], Ct));
        Assert.Equal(0, await lister.EnqueueAsync(sendLease, [file], Ct)); // Queued already.
        await Assert.ThrowsAsync<ArgumentException>(() => lister.EnqueueAsync(sendLease, [file, message], Ct));

        var status = await lister.StatusAsync(null, Ct);
        Assert.Equal((3, 0), (status.Queue.Waiting, status.Queue.Claimed));
        Assert.Equal([("fetch", 1L, 0L), ("send", 2L, 0L)], status.Queue.Kinds.Select(k => (k.Kind, k.Waiting, k.Claimed)));
        Assert.NotNull(status.Queue.Kinds.Single(k => k.Kind == "send").OldestWaiting);

        // The message waits longest, but a claim of files skips it; a claim of any kind takes one kind per batch.
        var files = await a.ClaimAsync(8, Ct, kind: WorkKind.Send);
        Assert.Equal([file, other], files.Select(c => c.Item));
        var messages = await b.ClaimAsync(8, Ct);
        Assert.Equal([message], messages.Select(c => c.Item));
        Assert.Equal(WorkKind.Fetch, messages[0].Item.Kind);

        // Each claim fences its own item: the file's holds while the message's holds too, and finishing one leaves the other.
        await _state.Fenced(files[0]).SaveOutboxAsync(Outbox("m1.eml"), Ct);
        await _state.Fenced(messages[0]).RecordAsync(Entry(1, "the message"), [], Ct);
        Assert.True(await a.CompleteAsync(files[0], Ct));
        status = await lister.StatusAsync(null, Ct);
        Assert.Equal([("fetch", 0L, 1L), ("send", 0L, 1L)], status.Queue.Kinds.Select(k => (k.Kind, k.Waiting, k.Claimed)));

        // Given back, the file is claimed again by a claim of files only; the old claim's writes are then refused.
        await a.ReleaseAsync(files[1], Ct);
        Assert.Empty(await b.ClaimAsync(8, Ct, kind: WorkKind.Fetch));
        var again = Assert.Single(await b.ClaimAsync(8, Ct));
        Assert.Equal(other, again.Item);
        await Assert.ThrowsAsync<FencedOffException>(() => _state.Fenced(files[1]).SaveOutboxAsync(Outbox("m2.eml"), Ct));
        await _state.Fenced(again).SaveOutboxAsync(Outbox("m2.eml"), Ct);
        Assert.True(await b.CompleteAsync(again, Ct));
        Assert.True(await b.CompleteAsync(messages[0], Ct));
        Assert.Equal((0, 0), ((await lister.StatusAsync(null, Ct)).Queue.Waiting, (await lister.StatusAsync(null, Ct)).Queue.Claimed));
    }

    [Fact]
    public async Task The_status_shows_live_and_stopped_nodes_and_the_leases_held()
    {
        await using var a = Node("a", TimeSpan.FromMinutes(1));
        await using var b = Node("b", TimeSpan.FromMinutes(1));
        await a.RegisterAsync("1.0", Ct);
        await b.RegisterAsync("1.0", Ct);
        _ = await a.TryTakeLeaseAsync("send:support", Ct);
        await b.StopAsync(Ct);

        var status = await a.StatusAsync(a.Node.Instance, Ct);

        Assert.Equal(a.Node.Instance, status.Self);
        Assert.Equal(["alive", "stopped"], status.Nodes.OrderBy(n => n.Node).Select(n => n.State));
        var lease = Assert.Single(status.Leases);
        Assert.Equal(("send:support", a.Node.Instance), (lease.Name, lease.Owner));
        Assert.Null(status.Queue.OldestWaiting);
    }

    private PostgresCluster Node(string name, TimeSpan ttl) => new(_database, ClusterNode.Start(n => n == ClusterNode.NodeVariable ? name : null), ttl);

    private static WorkItem Item(int uid) => new("support", "INBOX", $"7:{uid}", 7, (uint)uid, Listed: true);

    private static OutboxEntry Outbox(string fileName) => new()
    {
        Account = "support",
        FileName = fileName,
        ContentHash = "00",
        State = OutboxState.Sending,
        UpdatedAt = DateTimeOffset.UnixEpoch,
    };

    private static LedgerEntry Entry(int uid, string subject) => new()
    {
        Account = "support",
        Folder = "INBOX",
        SourceKey = $"7:{uid}",
        UidValidity = 7,
        Uid = (uint)uid,
        ContentHash = "00",
        State = MessageState.Retry,
        Subject = subject,
        FirstSeen = DateTimeOffset.UnixEpoch,
        UpdatedAt = DateTimeOffset.UnixEpoch,
    };

    /// <summary>Polls the database until <paramref name="condition"/> holds (an expiry is the database's clock, which the test cannot move).</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the lease or claim never expired");
            await Task.Delay(50);
        }
    }
}
