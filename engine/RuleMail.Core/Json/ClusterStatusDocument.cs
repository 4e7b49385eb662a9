namespace RuleMail.Json;

/// <summary>
/// A cluster as <c>rulemail cluster status --json</c> and the <c>cluster</c> check of <c>/readyz</c> show it: its nodes,
/// the leases held now and the work queue. Times are the database's clock.
/// </summary>
/// <param name="Self">The node instance answering (<c>/readyz</c>), or null (the CLI, which is no node).</param>
/// <param name="At">The database's clock when it was read.</param>
public sealed record ClusterStatusDocument(
    string? Self, DateTimeOffset At, IReadOnlyList<ClusterNodeDocument> Nodes, IReadOnlyList<ClusterLeaseDocument> Leases, ClusterQueueDocument Queue);

/// <summary>
/// One start of a node: <c>alive</c> (seen within a lease time), <c>gone</c> (not seen since: what it held expires and
/// is taken over) or <c>stopped</c> (it stopped gracefully and gave back what it held). <see cref="Claimed"/>: messages it works on now.
/// </summary>
public sealed record ClusterNodeDocument(
    string Instance, string Node, string Host, int Pid, string Version, DateTimeOffset StartedAt, DateTimeOffset LastSeen, string State, long Claimed);

/// <summary>A lease held now (<c>fetch:ACCOUNT</c>: listing the mailbox; <c>send:ACCOUNT</c>: sending the outbox), by a node instance, with its fencing number.</summary>
public sealed record ClusterLeaseDocument(string Name, string Owner, DateTimeOffset ExpiresAt, long Fence);

/// <summary>The work queue: messages waiting for a worker, being worked on, and since when the oldest waiting one waits (null: none waits).</summary>
public sealed record ClusterQueueDocument(long Waiting, long Claimed, DateTimeOffset? OldestWaiting)
{
    /// <summary>The same for each kind of work (<c>fetch</c>: incoming messages; <c>send</c>: outbox files), every kind listed; the totals above are their sums.</summary>
    public IReadOnlyList<ClusterQueueKindDocument> Kinds { get; init; } = [];
}

/// <summary>One kind of work in the queue (<c>fetch</c> or <c>send</c>): waiting, being worked on, and since when the oldest waits.</summary>
public sealed record ClusterQueueKindDocument(string Kind, long Waiting, long Claimed, DateTimeOffset? OldestWaiting);
