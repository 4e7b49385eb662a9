namespace RuleMail.Host.Configuration;

/// <summary>
/// <c>cluster:</c> in <c>rulemail.yaml</c>: how the nodes of a cluster (state on PostgreSQL) share the work. Every node
/// reads the same file; a node's name comes from <c>RULEMAIL_NODE</c> or the machine name.
/// </summary>
public sealed class ClusterConfig
{
    /// <summary>
    /// How long a lease (one node lists a mailbox, or sends an outbox) or a claim (one node works on a message) holds
    /// without being renewed; a node renews its own every third of it. A node that dies or is cut off loses its leases
    /// and claims after this time, and another node takes them over.
    /// </summary>
    public int LeaseSeconds { get; set; } = 30;

    /// <summary>How many messages each node works on at once (each worker holds its own mailbox connection).</summary>
    public int Workers { get; set; } = 2;

    /// <summary>How many queued messages a worker claims at a time (the rest stay for the other nodes).</summary>
    public int Batch { get; set; } = 8;

    [YamlDotNet.Serialization.YamlIgnore]
    public TimeSpan Lease => TimeSpan.FromSeconds(LeaseSeconds);
}
