namespace RuleMail.Host.State;

/// <summary>A state store that nodes of a cluster share, whose writes can be made conditional on a lease or a claim.</summary>
internal interface IFencedStateStore
{
    /// <summary>
    /// The same store, with every write transaction refused (<see cref="Cluster.FencedOffException"/>, nothing written)
    /// unless <paramref name="fence"/> still holds when it commits; reads are unchanged.
    /// </summary>
    IStateStore Fenced(Cluster.ClusterFence fence);
}
