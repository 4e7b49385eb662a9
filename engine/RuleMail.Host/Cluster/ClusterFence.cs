using Npgsql;

namespace RuleMail.Host.Cluster;

/// <summary>
/// What entitles this node to write about a mailbox or a message: a lease or a claim, with its fencing number. The
/// PostgreSQL state checks it at the start of every write transaction, locking its row, so a write is committed only
/// while the fence still holds, and a takeover (which updates that row) waits until the write is done. A node that
/// comes back after its lease expired and was taken over (a pause, a network cut) therefore writes nothing.
/// </summary>
public abstract record ClusterFence(string Owner, long Number)
{
    /// <summary>
    /// Throws <see cref="FencedOffException"/> unless the fence holds. In a write transaction it locks the fence's row
    /// until the transaction ends; without one (<paramref name="transaction"/> null: a check before a call that leaves the
    /// host) it only reads, so the check costs the database no commit to disk.
    /// </summary>
    internal abstract Task CheckAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken);

    /// <summary>
    /// Called in the write transaction that records the message <paramref name="account"/>/<paramref name="folder"/>/<paramref name="sourceKey"/>
    /// done: a claim on that message takes it off the queue in the same commit, instead of in a transaction of its own
    /// afterwards. A lease does nothing.
    /// </summary>
    /// <returns>Whether it took a queue row off: call <see cref="Committed"/> once the transaction has committed.</returns>
    internal virtual Task<bool> DoneAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string account, string folder, string sourceKey, CancellationToken cancellationToken) =>
        Task.FromResult(false);

    /// <summary>The transaction in which <see cref="DoneAsync"/> took the queue row off has committed.</summary>
    internal virtual void Committed()
    {
    }

    protected async Task CheckAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, Action<NpgsqlParameterCollection> parameters, string what, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        await using var command = new NpgsqlCommand(transaction is null ? sql : sql + " FOR UPDATE", connection, transaction);
        parameters(command.Parameters);
        command.Parameters.AddWithValue("owner", Owner);
        command.Parameters.AddWithValue("fence", Number);
        if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
        {
            throw new FencedOffException($"{what}: this node's hold (fence {Number}) expired or was taken over; nothing more is written for it here");
        }
    }
}

/// <summary>A node's lease on a name (<c>fetch:ACCOUNT</c>, <c>send:ACCOUNT</c>): one node at a time works under it.</summary>
public sealed record Lease(string Name, string Owner, long Number, DateTimeOffset ExpiresAt) : ClusterFence(Owner, Number)
{
    internal override Task CheckAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken) =>
        CheckAsync(connection, transaction,
            "SELECT 1 FROM cluster_lease WHERE name = @name AND owner = @owner AND fence = @fence AND expires_at > clock_timestamp()",
            p => p.AddWithValue("name", Name), $"lease {Name}", cancellationToken);
}

/// <summary>A worker's claim on one queued message or outbox file.</summary>
public sealed record Claim(WorkItem Item, string Owner, long Number, int Claims) : ClusterFence(Owner, Number)
{
    // One instance per claim, shared by its copies: a reference, so the claim's equality (it keys the held claims) never changes.
    private readonly Completion _completion = new();

    /// <summary>Whether the committed write that recorded the message done also took it off the queue (<see cref="DoneAsync"/>).</summary>
    public bool Finished => Volatile.Read(ref _completion.Finished);

    internal override Task CheckAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken) =>
        CheckAsync(connection, transaction,
            """
            SELECT 1 FROM work_item
            WHERE kind = @kind AND account = @account AND folder = @folder AND source_key = @key
              AND claimed_by = @owner AND fence = @fence AND claim_expires > clock_timestamp()
            """,
            p =>
            {
                p.AddWithValue("kind", State.EnumText<WorkKind>.Write(Item.Kind));
                p.AddWithValue("account", Item.Account);
                p.AddWithValue("folder", Item.Folder);
                p.AddWithValue("key", Item.SourceKey);
            },
            $"{Item.Account}: {Item.SourceKey}", cancellationToken);

    internal override async Task<bool> DoneAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string account, string folder, string sourceKey, CancellationToken cancellationToken)
    {
        if (Item.Kind != WorkKind.Fetch || account != Item.Account || folder != Item.Folder || sourceKey != Item.SourceKey)
        {
            return false; // Another message's entry (say the one a UIDVALIDITY change superseded): its queue row is not this claim's.
        }

        // The fence check earlier in this transaction locked the row: it is still this claim's.
        await using var command = new NpgsqlCommand(
            "DELETE FROM work_item WHERE kind = @kind AND account = @account AND folder = @folder AND source_key = @key AND claimed_by = @owner AND fence = @fence",
            connection, transaction);
        command.Parameters.AddWithValue("kind", State.EnumText<WorkKind>.Write(Item.Kind));
        command.Parameters.AddWithValue("account", Item.Account);
        command.Parameters.AddWithValue("folder", Item.Folder);
        command.Parameters.AddWithValue("key", Item.SourceKey);
        command.Parameters.AddWithValue("owner", Owner);
        command.Parameters.AddWithValue("fence", Number);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    internal override void Committed() => Volatile.Write(ref _completion.Finished, true);

    private sealed class Completion
    {
        public bool Finished;
    }
}

/// <summary>A message waiting in the work queue: where it is (IMAP UID) and whether the lister saw it in its folder.</summary>
/// <param name="Listed">False for an entry whose plan is due while its message is no longer listed (moved away): its plan's rest needs no mailbox.</param>
public sealed record WorkItem(string Account, string Folder, string SourceKey, uint? UidValidity, uint? Uid, bool Listed)
{
    /// <summary>A message to fetch unless said otherwise (<see cref="OutboxFile"/>).</summary>
    public WorkKind Kind { get; init; } = WorkKind.Fetch;

    /// <summary>A file in the account's outbox folder, to send.</summary>
    public static WorkItem OutboxFile(string account, string outbox, string fileName) =>
        new(account, outbox, fileName, UidValidity: null, Uid: null, Listed: true) { Kind = WorkKind.Send };
}

/// <summary>A write refused because the lease or claim it was made under no longer holds.</summary>
public sealed class FencedOffException : Exception
{
    public FencedOffException()
    {
    }

    public FencedOffException(string message)
        : base(message)
    {
    }

    public FencedOffException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
