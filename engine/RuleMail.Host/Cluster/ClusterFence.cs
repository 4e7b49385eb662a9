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
    /// <summary>Throws <see cref="FencedOffException"/> unless the fence holds; locks its row until the transaction ends.</summary>
    internal abstract Task CheckAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken);

    protected async Task CheckAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, Action<NpgsqlParameterCollection> parameters, string what, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        await using var command = new NpgsqlCommand(sql, connection, transaction);
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
    internal override Task CheckAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        CheckAsync(connection, transaction,
            "SELECT 1 FROM cluster_lease WHERE name = @name AND owner = @owner AND fence = @fence AND expires_at > clock_timestamp() FOR UPDATE",
            p => p.AddWithValue("name", Name), $"lease {Name}", cancellationToken);
}

/// <summary>A worker's claim on one queued message or outbox file.</summary>
public sealed record Claim(WorkItem Item, string Owner, long Number, int Claims) : ClusterFence(Owner, Number)
{
    internal override Task CheckAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        CheckAsync(connection, transaction,
            """
            SELECT 1 FROM work_item
            WHERE kind = @kind AND account = @account AND folder = @folder AND source_key = @key
              AND claimed_by = @owner AND fence = @fence AND claim_expires > clock_timestamp()
            FOR UPDATE
            """,
            p =>
            {
                p.AddWithValue("kind", State.EnumText<WorkKind>.Write(Item.Kind));
                p.AddWithValue("account", Item.Account);
                p.AddWithValue("folder", Item.Folder);
                p.AddWithValue("key", Item.SourceKey);
            },
            $"{Item.Account}: {Item.SourceKey}", cancellationToken);
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
