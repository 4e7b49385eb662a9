namespace RuleMail.Benchmarks.Cluster;

/// <summary>One timed run of a cluster over the backlog: its wall clock, who did what, and what it cost.</summary>
/// <param name="FirstQueued">Seconds from the backlog's move into the INBOX until the probe first saw it queued (the lister's tick).</param>
/// <param name="ByNode">Messages of the backlog each node finished.</param>
/// <param name="Cost">CPU seconds of the nodes, PostgreSQL, Dovecot and the machine over the run.</param>
/// <param name="Transactions">Transactions in the cluster's database over the run, the probe's own taken off.</param>
internal sealed record ClusterRun(int Nodes, int Messages, double Seconds, double FirstQueued, IReadOnlyList<int> ByNode, Sample Cost, long Transactions)
{
    public double Rate => Messages / Seconds;

    /// <summary>CPU seconds the machine spent on anything but the nodes, PostgreSQL and Dovecot (other work sharing it).</summary>
    public double Others => Cost.MachineBusy - Cost.Nodes - Cost.Postgres - Cost.Dovecot;
}
