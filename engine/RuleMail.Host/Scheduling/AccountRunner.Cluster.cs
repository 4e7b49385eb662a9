using Microsoft.Extensions.Logging;
using RuleMail.Host.Cluster;
using RuleMail.Host.Processing;
using RuleMail.Host.State;
using RuleMail.Host.Transport;

namespace RuleMail.Host.Scheduling;

/// <summary>
/// The account's jobs as a node of a cluster runs them. A fetch tick takes the account's lease: for IMAP or a Maildir on
/// shared storage it lists the folder and queues what needs work, which any node's workers then claim and fetch by UID or
/// unique name (<see cref="ProcessClaimsAsync"/>); a POP3 maildrop (one session at a time, see
/// <see cref="IMailSource.FetchesByKey"/>) is worked through whole by the lease holder. A send tick or a retry
/// takes its lease too. Every write made under a lease or a claim is fenced by it, so a node that comes back after
/// losing it (paused, cut off) writes nothing.
/// </summary>
public sealed partial class AccountRunner
{
    /// <summary>The lease one node lists the account's mailbox under (and a retry acts under).</summary>
    public static string FetchLease(string account) => $"fetch:{account}";

    /// <summary>The lease one node sends the account's outbox under.</summary>
    public static string SendLease(string account) => $"send:{account}";

    /// <summary>
    /// Works through claimed messages of this account's folder on one mailbox connection, each on a state fenced by its
    /// claim, and takes each finished one off the queue; what is left when the mailbox goes away or the host stops is
    /// given back to the queue for any node.
    /// </summary>
    internal async Task<FetchReport> ProcessClaimsAsync(PostgresCluster cluster, IReadOnlyList<Claim> claims, IProgress<ProcessedMessage>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(claims);
        var fetch = Account.Fetch ?? throw new InvalidOperationException($"{Account.Name} has no fetch");
        var logger = services.Logging.CreateLogger("RuleMail.Fetch");
        var (source, description) = Source(fetch);
        await using var closeSource = source.ConfigureAwait(false);
        await using var transport = Transport();
        var report = new FetchReport(Account.Name, description);
        var started = services.Time.GetTimestamp();
        var next = 0;
        var begun = false;
        var failed = false;
        try
        {
            if (claims.Count > 0 && claims[0].Item.Folder != source.Folder)
            {
                // Queued from another folder (the configuration changed meanwhile): its UIDs mean other messages here.
                report.Error = $"{claims.Count} queued messages are of folder {claims[0].Item.Folder}, which this node does not fetch (fetch.imap.folder is {source.Folder}); given back";
                failed = true;
                return report;
            }

            await source.ConnectAsync(cancellationToken).ConfigureAwait(false);
            for (; next < claims.Count && !cancellationToken.IsCancellationRequested; next++)
            {
                var claim = claims[next];
                var pipeline = new IncomingPipeline(services.WithState(Fenced(claim)), Account, transport);
                begun = true;
                try
                {
                    if (claim.Claims > MaxClaims)
                    {
                        // Every node that took it went away while working on it (killed, out of memory): it would take the next one too.
                        await pipeline.GiveUpQueuedAsync(source, claim.Item, $"{claim.Claims - 1} nodes stopped while they worked on it", report, progress).ConfigureAwait(false);
                    }
                    else
                    {
                        // A message is finished once begun (shutdown stops between messages).
                        await pipeline.ProcessQueuedAsync(source, claim.Item, report, progress).ConfigureAwait(false);
                    }

                    if (!await cluster.CompleteAsync(claim, CancellationToken.None).ConfigureAwait(false))
                    {
                        logger.LogWarning("{Account}: {Key}: the claim was taken over meanwhile; its new owner finishes it", Account.Name, claim.Item.SourceKey);
                    }
                }
                catch (FencedOffException e)
                {
                    cluster.Forget(claim);
                    logger.LogWarning("{Account}: {Reason}", Account.Name, e.Message);
                }

                begun = false;
            }
        }
        catch (MailSourceException e)
        {
            report.Error = e.Message;
            failed = true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "{Account}: working on queued messages failed", Account.Name);
            report.Error = RunFailed(e);
            failed = true;
        }
        finally
        {
            // What is left goes back to the queue: after a failure it waits a lease time, so a mailbox that is down does
            // not hold the cluster's workers; the message it failed on counts as claimed, the others do not.
            var backoff = failed ? cluster.Ttl : TimeSpan.Zero;
            for (var i = next; i < claims.Count; i++)
            {
                try
                {
                    await cluster.ReleaseAsync(claims[i], CancellationToken.None, begun: i == next && begun, backoff).ConfigureAwait(false);
                }
                catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
                {
                    logger.LogWarning("{Account}: {Key}: could not give the message back ({Error}); its claim expires", Account.Name, claims[i].Item.SourceKey, e.Message);
                }
            }
        }

        services.Metrics.Fetched(report, services.Time.GetElapsedTime(started));
        return report;
    }

    /// <summary>How many nodes may stop while working on one message before it is given up (a message that kills its node).</summary>
    internal const int MaxClaims = 5;

    /// <summary>
    /// <c>run --once</c> on a node: after the listing, works through the account's queued messages here (the ones no
    /// other node has claimed) until none is left, renewing its claims meanwhile as a running node's heartbeat does.
    /// </summary>
    public async Task DrainAsync(PostgresCluster cluster, FetchReport into, IProgress<ProcessedMessage>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(into);
        await cluster.RegisterAsync("once", cancellationToken).ConfigureAwait(false);
        var heartbeat = cluster.KeepBeating();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var claims = await cluster.ClaimAsync(services.Config.Cluster.Batch, cancellationToken, Account.Name).ConfigureAwait(false);
                if (claims.Count == 0)
                {
                    return;
                }

                var report = await ProcessClaimsAsync(cluster, claims, progress, cancellationToken).ConfigureAwait(false);
                into.Messages.AddRange(report.Messages);
                into.AlreadyDone += report.AlreadyDone;
                into.Waiting += report.Waiting;
                if (report.Error is not null)
                {
                    into.Error = report.Error;
                    return;
                }
            }
        }
        finally
        {
            await heartbeat.DisposeAsync().ConfigureAwait(false);
            try
            {
                await cluster.StopAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
            {
                // What this run still held expires.
            }
        }
    }

    private async Task<FetchReport> FetchInClusterAsync(
        PostgresCluster cluster, IMailSource source, string description, IMailTransport? transport, IProgress<ProcessedMessage>? progress, CancellationToken cancellationToken)
    {
        var lease = await cluster.TryTakeLeaseAsync(FetchLease(Account.Name), cancellationToken).ConfigureAwait(false);
        if (lease is null)
        {
            return new FetchReport(Account.Name, description) { HeldElsewhere = true };
        }

        await using var renewed = cluster.KeepRenewed(lease);
        try
        {
            var fenced = services.WithState(Fenced(lease));
            if (!source.FetchesByKey)
            {
                return await new IncomingPipeline(fenced, Account, transport).RunAsync(source, description, progress, cancellationToken).ConfigureAwait(false);
            }

            var report = new FetchReport(Account.Name, description);
            try
            {
                var pipeline = new IncomingPipeline(fenced, Account, transport);
                var items = await pipeline.ListForQueueAsync(source, report, cancellationToken).ConfigureAwait(false);
                report.Queued = await cluster.EnqueueAsync(lease, items, cancellationToken).ConfigureAwait(false);
                await pipeline.ListedAsync(source, items, cancellationToken).ConfigureAwait(false);
            }
            catch (MailSourceException e)
            {
                report.Error = e.Message;
            }

            return report;
        }
        catch (FencedOffException e)
        {
            services.Logging.CreateLogger("RuleMail.Fetch").LogWarning("{Account}: {Reason}", Account.Name, e.Message);
            return new FetchReport(Account.Name, description);
        }
        finally
        {
            await cluster.ReleaseAsync(lease, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task<SendReport> SendInClusterAsync(
        PostgresCluster cluster, string outbox, IMailTransport transport, ImapSentCopy? sentCopy, IProgress<SentMessage>? progress, CancellationToken cancellationToken)
    {
        var lease = await cluster.TryTakeLeaseAsync(SendLease(Account.Name), cancellationToken).ConfigureAwait(false);
        if (lease is null)
        {
            return new SendReport(Account.Name, transport.Describe) { HeldElsewhere = true };
        }

        await using var renewed = cluster.KeepRenewed(lease);
        try
        {
            return await new OutboxSender(services.WithState(Fenced(lease)), Account, outbox, transport, sentCopy).RunAsync(progress, cancellationToken).ConfigureAwait(false);
        }
        catch (FencedOffException e)
        {
            services.Logging.CreateLogger("RuleMail.Send").LogWarning("{Account}: {Reason}", Account.Name, e.Message);
            return new SendReport(Account.Name, transport.Describe) { Error = e.Message };
        }
        finally
        {
            await cluster.ReleaseAsync(lease, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>A retry acts on the mailbox under the account's fetch lease, waiting a lease time at most for a listing under way.</summary>
    private async Task<RetryReport> RetryInClusterAsync(
        PostgresCluster cluster, RetrySelection selection, IMailSource source, string description, IMailTransport? transport,
        IProgress<RetriedMessage>? progress, CancellationToken cancellationToken)
    {
        var until = services.Time.GetUtcNow() + cluster.Ttl;
        Lease? lease;
        while ((lease = await cluster.TryTakeLeaseAsync(FetchLease(Account.Name), cancellationToken).ConfigureAwait(false)) is null)
        {
            if (services.Time.GetUtcNow() > until)
            {
                return new RetryReport(Account.Name, description) { Error = $"another node holds the lease {FetchLease(Account.Name)}; try again" };
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), services.Time, cancellationToken).ConfigureAwait(false);
        }

        await using var renewed = cluster.KeepRenewed(lease);
        try
        {
            return await new RetryProcessing(services.WithState(Fenced(lease)), Account, source, transport).RunAsync(selection, description, progress, cancellationToken).ConfigureAwait(false);
        }
        catch (FencedOffException e)
        {
            return new RetryReport(Account.Name, description) { Error = e.Message };
        }
        finally
        {
            await cluster.ReleaseAsync(lease, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private IStateStore Fenced(ClusterFence fence) =>
        services.State is IFencedStateStore shared
            ? shared.Fenced(fence)
            : throw new InvalidOperationException("a cluster needs its state on PostgreSQL");
}
