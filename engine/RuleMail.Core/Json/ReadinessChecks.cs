namespace RuleMail.Json;

/// <summary>
/// The checks of a <see cref="ReadinessDocument"/>; <see cref="Accounts"/> is keyed by account name, in the configuration's
/// order. <see cref="Cluster"/> is there only for a node of a cluster (state on PostgreSQL): absent for one host.
/// </summary>
public sealed record ReadinessChecks(
    ReadinessCheck Keystore,
    ReadinessCheck State,
    ReadinessCheck Rules,
    IReadOnlyDictionary<string, AccountReadiness> Accounts)
{
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public ClusterReadiness? Cluster { get; init; }
}

/// <summary>The <c>cluster</c> check: this node registered and alive in the shared state, with the cluster as it stands.</summary>
public sealed record ClusterReadiness(bool Ok, string Detail, ClusterStatusDocument? Status);
