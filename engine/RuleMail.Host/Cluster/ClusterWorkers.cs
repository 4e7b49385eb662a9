using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RuleMail.Host.Scheduling;

namespace RuleMail.Host.Cluster;

/// <summary>
/// A node's share of the cluster's work: its heartbeat, which also renews every lease and claim it holds, and its
/// workers, which claim queued messages and outbox files (whoever listed them) and work through them: a batch of
/// messages is fetched and judged (<see cref="AccountRunner.ProcessClaimsAsync"/>), a batch of outbox files is sent
/// (<see cref="AccountRunner.SendClaimsAsync"/>). A worker with nothing to claim
/// sleeps until a lister notifies new work, or a third of a lease time (a dead node's claims expire silently).
/// On stop, each worker finishes the message it is on, gives the rest of its claims back, and the node deregisters.
/// </summary>
internal sealed class ClusterWorkers(HostRuntime runtime, PostgresCluster cluster, Configuration.ClusterConfig settings, ILogger<ClusterWorkers> logger) : BackgroundService
{
    private static readonly TimeSpan LongestBackoff = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var version = typeof(ClusterWorkers).Assembly.GetName().Version?.ToString() ?? "0";
        await RetryAsync(() => cluster.RegisterAsync(version, stoppingToken), "registering the node", stoppingToken).ConfigureAwait(false);
        logger.LogInformation("Cluster node {Instance} started: {Workers} workers, leases of {Lease} s", cluster.Node.Instance, settings.Workers, settings.LeaseSeconds);
        // The heartbeat goes on until the last worker has finished its message, so no claim expires under it.
        string? failing = null;
        var heartbeat = cluster.KeepBeating(e =>
        {
            if (e is null && failing is not null)
            {
                logger.LogInformation("Cluster node {Instance}: the database answers again", cluster.Node.Instance);
                failing = null;
            }
            else if (e is not null && failing != e.Message)
            {
                // Past a lease time without a heartbeat, this node's holds are taken over; its fenced writes are then refused.
                logger.LogWarning("Cluster node {Instance}: the heartbeat failed ({Error}); retrying", cluster.Node.Instance, e.Message);
                failing = e.Message;
            }
        });
        var loops = Enumerable.Range(0, settings.Workers).Select(i => WorkAsync(i, stoppingToken)).ToList();
        try
        {
            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        finally
        {
            await heartbeat.DisposeAsync().ConfigureAwait(false);
            try
            {
                await cluster.StopAsync(CancellationToken.None).ConfigureAwait(false);
                logger.LogInformation("Cluster node {Instance} stopped; its leases and claims are given back", cluster.Node.Instance);
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
            {
                logger.LogWarning("Cluster node {Instance}: could not deregister ({Error}); its leases and claims expire", cluster.Node.Instance, e.Message);
            }
        }
    }

    private async Task WorkAsync(int worker, CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.Zero;
        await using var mailbox = new KeptMailbox();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (backoff > TimeSpan.Zero)
                {
                    await Task.Delay(backoff, stoppingToken).ConfigureAwait(false);
                }

                var claims = await cluster.ClaimAsync(settings.Batch, stoppingToken).ConfigureAwait(false);
                if (claims.Count == 0)
                {
                    await mailbox.CloseAsync().ConfigureAwait(false); // An idle worker holds no mailbox session.
                    await cluster.WaitForWorkAsync(cluster.Ttl / 3, stoppingToken).ConfigureAwait(false);
                    continue;
                }

                var account = claims[0].Item.Account;
                var sends = claims[0].Item.Kind == WorkKind.Send;
                var runner = runtime.Accounts.FirstOrDefault(a => a.Account.Name == account && (sends ? a.Sends : a.Fetches));
                if (runner is null)
                {
                    // Queued by a node whose configuration has this account; this one's does not (a rolling change).
                    logger.LogWarning("Worker {Worker}: {Count} queued {What} of account {Account}, which this node's configuration does not have; given back",
                        worker, claims.Count, sends ? "outbox files" : "messages", account);
                    foreach (var claim in claims)
                    {
                        await cluster.ReleaseAsync(claim, CancellationToken.None, backoff: cluster.Ttl).ConfigureAwait(false);
                    }

                    continue;
                }

                var error = sends
                    ? (await runner.SendClaimsAsync(cluster, claims, Sent(runner), stoppingToken).ConfigureAwait(false)).Error
                    : (await runner.ProcessClaimsAsync(cluster, claims, progress: null, stoppingToken, mailbox).ConfigureAwait(false)).Error;
                if (error is not null)
                {
                    backoff = Longer(backoff);
                    logger.LogWarning("Worker {Worker}: {Account}: {Error}; what is left is back in the queue (next claim in {Backoff} s)",
                        worker, account, error, (int)backoff.TotalSeconds);
                }
                else
                {
                    backoff = TimeSpan.Zero;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
            {
                backoff = Longer(backoff);
                logger.LogWarning("Worker {Worker}: the state database failed ({Error}); retrying in {Backoff} s", worker, e.Message, (int)backoff.TotalSeconds);
            }
#pragma warning disable CA1031 // A worker must not end while its node looks alive: whatever a bug throws is logged and the loop goes on.
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
#pragma warning restore CA1031
            {
                backoff = Longer(backoff);
                logger.LogError(e, "Worker {Worker}: failed; going on in {Backoff} s", worker, (int)backoff.TotalSeconds);
            }
        }
    }

    /// <summary>Logs each outbox file a worker sent (or held, or filed away), as a send job logs it on one host.</summary>
    private Progress<Processing.SentMessage> Sent(AccountRunner runner) =>
        new(m => logger.LogInformation("{Account}: outbox {File} to {To}: {State} {Reason}",
            runner.Account.Name, m.FileName, m.To, m.State.ToString().ToLowerInvariant(), m.Reason));

    /// <summary>The next backoff: 1 s first, then doubling, at most <see cref="LongestBackoff"/>.</summary>
    private static TimeSpan Longer(TimeSpan backoff) =>
        backoff == TimeSpan.Zero ? TimeSpan.FromSeconds(1) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, LongestBackoff.Ticks));

    private async Task RetryAsync(Func<Task> action, string what, CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                await action().ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
            {
                logger.LogWarning("Cluster node {Instance}: {What} failed ({Error}); retrying", cluster.Node.Instance, what, e.Message);
                await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
                delay = Longer(delay);
            }
        }
    }
}
