using RuleMail.Host.State;
using RuleMail.Json;
using RuleMail.Keys;

namespace RuleMail.Host.Scheduling;

/// <summary>
/// Whether this host can do its work now (<c>GET /readyz</c>): the key store unlocked, the state answering a real
/// query, the rules in force, and each scheduled job's last run through (a fetch whose server is unreachable is not).
/// Reloads that were refused keep what was in force, so they are reported in the detail but do not make it unready.
/// </summary>
/// <remarks>Thread-safe; each call reads the state once (a grouped count of the outbox), nothing else touches I/O.</remarks>
public sealed class HostReadiness
{
    /// <summary>How long the state may take to answer before it counts as not reachable.</summary>
    public static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(5);

    private readonly HostRuntime _runtime;
    private readonly LiveReload? _reload;
    private readonly ScheduledJobs? _scheduled;

    internal HostReadiness(HostRuntime runtime, LiveReload? reload, ScheduledJobs? scheduled)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        _runtime = runtime;
        _reload = reload;
        _scheduled = scheduled;
    }

    /// <summary>Runs every check; <see cref="ReadinessDocument.Ready"/> only when all of them pass.</summary>
    public async Task<ReadinessDocument> CheckAsync(CancellationToken cancellationToken)
    {
        var keystore = KeyStoreCheck();
        var state = await StateCheckAsync(cancellationToken).ConfigureAwait(false);
        var rules = RulesCheck();
        var accounts = new Dictionary<string, AccountReadiness>(StringComparer.Ordinal);
        foreach (var runner in _runtime.Accounts)
        {
            var name = runner.Account.Name;
            accounts[name] = new AccountReadiness(
                runner.Fetches ? Job($"fetch:{name}") : null,
                runner.Sends ? Job($"send:{name}") : null);
        }

        var cluster = _runtime.Services.Coordination is null ? null : await ClusterCheckAsync(cancellationToken).ConfigureAwait(false);
        var ready = keystore.Ok && state.Ok && rules.Ok && cluster?.Ok != false
            && accounts.Values.All(a => a.Fetch?.Ok != false && a.Send?.Ok != false);
        return new ReadinessDocument(ready, new ReadinessChecks(keystore, state, rules, accounts) { Cluster = cluster });
    }

    private ReadinessCheck KeyStoreCheck()
    {
        var store = _runtime.Services.Store;
        try
        {
            store.RequirePassphrase(); // No key derivation: the keys were all opened at start and on every reload.
        }
        catch (KeyStoreException e)
        {
            return new ReadinessCheck(false, e.Message);
        }

        var entries = store.Entries;
        var detail = $"{entries.Count} entries, {entries.Count(e => e.HasPrivateKey)} with a private key, unlocked";
        return new ReadinessCheck(true, _reload?.KeysRefusal is { } refusal
            ? $"{detail}; the last reload was refused, keeping the loaded keys: {refusal}"
            : detail);
    }

    private async Task<ReadinessCheck> StateCheckAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StateTimeout);
        try
        {
            var counts = await _runtime.Services.State.CountOutboxAsync(timeout.Token).ConfigureAwait(false);
            var held = counts.Where(c => c.State == OutboxState.Held).Sum(c => c.Count);
            var failed = counts.Where(c => c.State == OutboxState.Failed).Sum(c => c.Count);
            return new ReadinessCheck(true, $"answers; outbox: {held} held, {failed} failed");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ReadinessCheck(false, $"the state database did not answer within {StateTimeout.TotalSeconds:0} s");
        }
#pragma warning disable CA1031 // Whatever the store throws (SQLite, I/O, disposed), the answer is "not reachable" with its reason.
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            return new ReadinessCheck(false, $"the state database does not answer: {e.Message.Split('\n')[0]}");
        }
    }

    /// <summary>
    /// A node of a cluster: the cluster as the shared state says, and whether this node is alive in it (its heartbeat
    /// recent, so its leases and claims hold). Under <c>serve</c>, which runs no workers, the node is not registered.
    /// </summary>
    private async Task<ClusterReadiness> ClusterCheckAsync(CancellationToken cancellationToken)
    {
        var cluster = _runtime.Services.Coordination!;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StateTimeout);
        ClusterStatusDocument status;
        try
        {
            status = await cluster.StatusAsync(cluster.Node.Instance, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ClusterReadiness(false, $"the cluster's tables did not answer within {StateTimeout.TotalSeconds:0} s", null);
        }
#pragma warning disable CA1031 // Whatever the database throws, the answer is "not ready" with its reason.
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            return new ClusterReadiness(false, $"the cluster's tables do not answer: {e.Message.Split('\n')[0]}", null);
        }

        var self = status.Nodes.FirstOrDefault(n => n.Instance == cluster.Node.Instance);
        var alive = status.Nodes.Count(n => n.State == "alive");
        var summary = $"{alive} nodes alive; queue: {status.Queue.Waiting} waiting, {status.Queue.Claimed} being worked on; {status.Leases.Count} leases held";
        if (_scheduled is null)
        {
            return new ClusterReadiness(true, $"serving only (no workers on this node); {summary}", status);
        }

        return self?.State == "alive"
            ? new ClusterReadiness(true, $"node {cluster.Node.Instance} alive; {summary}", status)
            : new ClusterReadiness(false, $"node {cluster.Node.Instance} is not alive in the cluster (registering, or its heartbeat fails); {summary}", status);
    }

    private ReadinessCheck RulesCheck()
    {
        var rules = _runtime.Services.Rules;
        var detail = $"{rules.RuleCount} rules from {rules.FileCount} files";
        if (rules.Errors.Count > 0)
        {
            return new ReadinessCheck(false, $"{detail}; {rules.Errors.Count} errors, the first: {rules.Errors[0]}");
        }

        return new ReadinessCheck(true, _reload?.RulesRefusal is { } refusal
            ? $"{detail}; the last edit was refused, keeping these rules: {refusal}"
            : detail);
    }

    private JobReadiness Job(string job)
    {
        if (_scheduled?.Names.Contains(job) != true)
        {
            return new JobReadiness(Ok: true, Scheduled: false, LastRun: null, Error: null, NextAttempt: null);
        }

        var run = _runtime.Health.LastRun(job);
        return new JobReadiness(run?.Error is null, Scheduled: true, run?.At, run?.Error, run?.NextAttempt);
    }
}
