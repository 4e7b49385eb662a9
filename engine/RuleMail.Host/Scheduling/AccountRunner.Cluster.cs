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
/// <see cref="IMailSource.FetchesByKey"/>) is worked through whole by the lease holder. A send tick takes the outbox's
/// lease, lists the outbox and queues its files, which any node's workers claim and send (<see cref="SendClaimsAsync"/>).
/// A retry takes the fetch lease. Every write made under a lease or a claim is fenced by it, so a node that comes back
/// after losing it (paused, cut off) writes nothing.
/// </summary>
public sealed partial class AccountRunner
{
    /// <summary>The lease one node lists the account's mailbox under (and a retry acts under).</summary>
    public static string FetchLease(string account) => $"fetch:{account}";

    /// <summary>The lease one node lists the account's outbox under (its files are then sent by any node's workers).</summary>
    public static string SendLease(string account) => $"send:{account}";

    /// <summary>
    /// Works through claimed messages of this account's folder on one mailbox connection, each on a state fenced by its
    /// claim, and takes each finished one off the queue; what is left when the mailbox goes away or the host stops is
    /// given back to the queue for any node.
    /// </summary>
    /// <param name="kept">The worker's mailbox connection from its last batch, used when it is this account's, and kept
    /// for the next one unless this batch failed or was stopped; null to log in and out for this batch alone.</param>
    internal async Task<FetchReport> ProcessClaimsAsync(
        PostgresCluster cluster, IReadOnlyList<Claim> claims, IProgress<ProcessedMessage>? progress, CancellationToken cancellationToken, KeptMailbox? kept = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(claims);
        var fetch = Account.Fetch ?? throw new InvalidOperationException($"{Account.Name} has no fetch");
        var logger = services.Logging.CreateLogger("RuleMail.Fetch");
        var held = kept is null ? null : await kept.TakeAsync(this, CancellationToken.None).ConfigureAwait(false); // The claims are given back below.
        var (source, description) = held ?? Source(fetch);
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

            if (held is null)
            {
                await source.ConnectAsync(cancellationToken).ConfigureAwait(false);
            }

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
            await GiveBackAsync(cluster, claims, next, begun, failed, logger).ConfigureAwait(false);

            if (kept is not null && !failed && !cancellationToken.IsCancellationRequested && source.IsConnected)
            {
                kept.Keep(this, source, description);
            }
            else
            {
                await source.DisposeAsync().ConfigureAwait(false);
            }
        }

        services.Metrics.Fetched(report, services.Time.GetElapsedTime(started));
        return report;
    }

    /// <summary>
    /// Gives the claims from <paramref name="next"/> on back to the queue; after a failure they wait a lease time first.
    /// The first of them counts as claimed when <paramref name="begun"/> (the worker was on it when it failed), the others
    /// do not. One that cannot be given back (the database is away) expires.
    /// </summary>
    private async Task GiveBackAsync(PostgresCluster cluster, IReadOnlyList<Claim> claims, int next, bool begun, bool failed, ILogger logger)
    {
        var backoff = failed ? cluster.Ttl : TimeSpan.Zero;
        for (var i = next; i < claims.Count; i++)
        {
            try
            {
                await cluster.ReleaseAsync(claims[i], CancellationToken.None, begun: i == next && begun, backoff).ConfigureAwait(false);
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
            {
                logger.LogWarning("{Account}: {Kind} {Key}: could not give it back to the queue ({Error}); its claim expires",
                    Account.Name, claims[i].Item.Kind == WorkKind.Send ? "outbox" : "message", claims[i].Item.SourceKey, e.Message);
            }
        }
    }

    /// <summary>How many nodes may stop while working on one message before it is given up (a message that kills its node).</summary>
    internal const int MaxClaims = 5;

    /// <summary>
    /// Sends claimed files of this account's outbox on one SMTP (or pickup) transport, each on a state fenced by its
    /// claim, and takes each finished one off the queue. <see cref="OutboxSender"/> records <c>sending</c> and checks
    /// the fence before every copy it hands to the server, so a node whose claim was taken over (paused, cut off) sends
    /// nothing more and records nothing. A file gone meanwhile (sent by another node, removed) is simply finished; one
    /// that every node taking it died on is filed in <c>failed/</c>. What is left when the server fails or the host stops
    /// is given back to the queue for any node.
    /// </summary>
    internal async Task<SendReport> SendClaimsAsync(PostgresCluster cluster, IReadOnlyList<Claim> claims, IProgress<SentMessage>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(claims);
        var send = Account.Send ?? throw new InvalidOperationException($"{Account.Name} has no send");
        var outbox = send.Outbox ?? throw new InvalidOperationException($"{Account.Name} has no outbox");
        var logger = services.Logging.CreateLogger("RuleMail.Send");
        await using var transport = Transport() ?? throw new InvalidOperationException($"{Account.Name} has no smtp or pickup");
        await using var sentCopy = SentCopy(send);
        var report = new SendReport(Account.Name, transport.Describe);
        var started = services.Time.GetTimestamp();
        var next = 0;
        var failed = false;
        try
        {
            if (claims.Count > 0 && claims[0].Item.Folder != outbox)
            {
                // Queued from another outbox (the configuration changed meanwhile): its file names mean other files here.
                report.Error = $"{claims.Count} queued files are of the outbox {claims[0].Item.Folder}, which this node does not send (send.outbox is {outbox}); given back";
                failed = true;
                return report;
            }

            for (; next < claims.Count && !cancellationToken.IsCancellationRequested; next++)
            {
                var claim = claims[next];
                try
                {
                    var name = claim.Item.SourceKey;
                    if (Path.GetFileName(name) == name && name.EndsWith(".eml", StringComparison.Ordinal))
                    {
                        var sender = new OutboxSender(services.WithState(Fenced(claim)), Account, outbox, transport, sentCopy);
                        var file = new FileInfo(Path.Combine(outbox, name));
                        if (claim.Claims > MaxClaims)
                        {
                            // Every node that took it went away while sending it: it would take the next one too.
                            await sender.GiveUpAsync(file, $"{claim.Claims - 1} nodes stopped while they sent it", report, progress).ConfigureAwait(false);
                        }
                        else
                        {
                            await sender.SendOneAsync(file, report, progress).ConfigureAwait(false);
                        }
                    }

                    if (!await cluster.CompleteAsync(claim, CancellationToken.None).ConfigureAwait(false))
                    {
                        logger.LogWarning("{Account}: outbox {File}: the claim was taken over meanwhile; its new owner finishes it", Account.Name, claim.Item.SourceKey);
                    }
                }
                catch (FencedOffException e)
                {
                    cluster.Forget(claim);
                    logger.LogWarning("{Account}: {Reason}", Account.Name, e.Message);
                }
            }
        }
        catch (MailSourceException e)
        {
            // The server is down or failed this file (recorded with its next attempt): it and the rest go back to the queue.
            report.Error = e.Message;
            failed = true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "{Account}: sending queued outbox files failed", Account.Name);
            report.Error = RunFailed(e);
            failed = true;
        }
        finally
        {
            // Given back after a failure, they wait a lease time, so a server that is down does not hold the cluster's
            // workers. A failure that was caught is no node dying on the file: none of them counts as claimed.
            await GiveBackAsync(cluster, claims, next, begun: false, failed, logger).ConfigureAwait(false);
        }

        services.Metrics.Sent(report, services.Time.GetElapsedTime(started));
        return report;
    }

    /// <summary>
    /// <c>run --once</c> on a node: after the listing, works through the account's queued messages here (the ones no
    /// other node has claimed) until none is left, renewing its claims meanwhile as a running node's heartbeat does.
    /// </summary>
    public async Task DrainAsync(PostgresCluster cluster, FetchReport into, IProgress<ProcessedMessage>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(into);
        await using var mailbox = new KeptMailbox(); // One mailbox session for every batch.
        await DrainAsync(cluster, WorkKind.Fetch, async claims =>
        {
            var report = await ProcessClaimsAsync(cluster, claims, progress, cancellationToken, mailbox).ConfigureAwait(false);
            into.Messages.AddRange(report.Messages);
            into.AlreadyDone += report.AlreadyDone;
            into.Waiting += report.Waiting;
            into.Error = report.Error;
            return report.Error is null;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>run --once</c> on a node: after the send tick queued the outbox, sends the account's queued files here (the
    /// ones no other node has claimed) until none is left.
    /// </summary>
    public Task DrainAsync(PostgresCluster cluster, SendReport into, IProgress<SentMessage>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(into);
        return DrainAsync(cluster, WorkKind.Send, async claims =>
        {
            var report = await SendClaimsAsync(cluster, claims, progress, cancellationToken).ConfigureAwait(false);
            into.Messages.AddRange(report.Messages);
            into.Waiting += report.Waiting;
            into.Error = report.Error;
            return report.Error is null;
        }, cancellationToken);
    }

    /// <summary>Claims and works through the account's items of one kind until none is left or <paramref name="work"/> says to stop.</summary>
    private async Task DrainAsync(PostgresCluster cluster, WorkKind kind, Func<IReadOnlyList<Claim>, Task<bool>> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        await cluster.RegisterAsync("once", cancellationToken).ConfigureAwait(false);
        var heartbeat = cluster.KeepBeating();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var claims = await cluster.ClaimAsync(services.Config.Cluster.Batch, cancellationToken, Account.Name, kind).ConfigureAwait(false);
                if (claims.Count == 0 || !await work(claims).ConfigureAwait(false))
                {
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
        PostgresCluster cluster, string outbox, IMailTransport transport, CancellationToken cancellationToken)
    {
        var lease = await cluster.TryTakeLeaseAsync(SendLease(Account.Name), cancellationToken).ConfigureAwait(false);
        if (lease is null)
        {
            return new SendReport(Account.Name, transport.Describe) { HeldElsewhere = true };
        }

        await using var renewed = cluster.KeepRenewed(lease);
        try
        {
            // The tick only lists: every node's workers claim the files and send them (SendClaimsAsync), so one file is
            // sent by one node at a time, and a big outbox by all of them.
            var items = OutboxSender.List(outbox).Select(f => WorkItem.OutboxFile(Account.Name, outbox, f.Name)).ToList();
            return new SendReport(Account.Name, transport.Describe) { Queued = await cluster.EnqueueAsync(lease, items, cancellationToken).ConfigureAwait(false) };
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
