using Microsoft.Extensions.Logging;
using RuleMail.Host.Configuration;
using RuleMail.Host.Transport;
using RuleMail.Host.Processing;

namespace RuleMail.Host.Scheduling;

/// <summary>One account's two jobs — fetch and send — each opening its servers for the run and closing them after.</summary>
/// <remarks>
/// A fetch and a retry of the account take turns (<see cref="_mailbox"/>): in one process the HTTP API's retry runs beside
/// the scheduled fetch, and each would otherwise carry out the other's pending plan or judge as new a message the other
/// has just moved (its new UID not yet recorded). Across processes the state's host lock keeps them apart.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable",
    Justification = "A SemaphoreSlim whose AvailableWaitHandle is never read holds nothing to dispose; the runner lives as long as its runtime.")]
public sealed partial class AccountRunner(HostServices services, AccountConfig account)
{
    private readonly SemaphoreSlim _mailbox = new(1, 1);

    public AccountConfig Account { get; } = account;

    public bool Fetches => Account.Fetch is not null;

    public bool Sends => Account.Send?.Outbox is not null;

    /// <summary>Fetches and processes the account's new mail once.</summary>
    public async Task<FetchReport> FetchAsync(IProgress<ProcessedMessage>? progress, CancellationToken cancellationToken)
    {
        var fetch = Account.Fetch ?? throw new InvalidOperationException($"{Account.Name} has no fetch");
        await _mailbox.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (source, description) = Source(fetch);
            await using var closeSource = source.ConfigureAwait(false);
            await using var transport = Transport(); // For notices; none when the account does not send.
            var started = services.Time.GetTimestamp();
            FetchReport report;
            try
            {
                report = services.Coordination is { } cluster
                    ? await FetchInClusterAsync(cluster, source, description, transport, progress, cancellationToken).ConfigureAwait(false)
                    : await new IncomingPipeline(services, Account, transport).RunAsync(source, description, progress, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A bug must not stop the other accounts or the schedule: report it like an outage, retry later.
                services.Logging.CreateLogger("RuleMail.Fetch").LogError(e, "{Account}: the fetch run failed", Account.Name);
                report = new FetchReport(Account.Name, description) { Error = RunFailed(e) };
            }

            services.Metrics.Fetched(report, services.Time.GetElapsedTime(started));
            return report;
        }
        finally
        {
            _mailbox.Release();
        }
    }

    /// <summary>
    /// Judges the account's selected processed messages again (<see cref="RetryProcessing"/>), with the account's source
    /// and, for notices, its transport, opened for the run and closed after; after a fetch of the account that is under way.
    /// </summary>
    public async Task<RetryReport> RetryAsync(RetrySelection selection, IProgress<RetriedMessage>? progress, CancellationToken cancellationToken)
    {
        var fetch = Account.Fetch ?? throw new InvalidOperationException($"{Account.Name} has no fetch");
        await _mailbox.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (source, description) = Source(fetch);
            await using var closeSource = source.ConfigureAwait(false);
            await using var transport = Transport();
            try
            {
                if (services.Coordination is { } cluster)
                {
                    return await RetryInClusterAsync(cluster, selection, source, description, transport, progress, cancellationToken).ConfigureAwait(false);
                }

                return await new RetryProcessing(services, Account, source, transport).RunAsync(selection, description, progress, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                services.Logging.CreateLogger("RuleMail.Retry").LogError(e, "{Account}: the retry failed", Account.Name);
                return new RetryReport(Account.Name, description) { Error = RunFailed(e) };
            }
        }
        finally
        {
            _mailbox.Release();
        }
    }

    /// <summary>Sends (or holds) what waits in the account's outbox once.</summary>
    public async Task<SendReport> SendAsync(IProgress<SentMessage>? progress, CancellationToken cancellationToken)
    {
        var send = Account.Send ?? throw new InvalidOperationException($"{Account.Name} has no send");
        await using var transport = Transport() ?? throw new InvalidOperationException($"{Account.Name} has no smtp or pickup");
        await using var sentCopy = SentCopy(send);
        var started = services.Time.GetTimestamp();
        SendReport report;
        try
        {
            report = services.Coordination is { } cluster
                ? await SendInClusterAsync(cluster, send.Outbox!, transport, cancellationToken).ConfigureAwait(false)
                : await new OutboxSender(services, Account, send.Outbox!, transport, sentCopy).RunAsync(progress, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            services.Logging.CreateLogger("RuleMail.Send").LogError(e, "{Account}: the send run failed", Account.Name);
            report = new SendReport(Account.Name, transport.Describe) { Error = RunFailed(e) };
        }

        services.Metrics.Sent(report, services.Time.GetElapsedTime(started));
        return report;
    }

    private (IMailSource Source, string Description) Source(FetchConfig fetch)
    {
        var logger = services.Logging.CreateLogger("RuleMail.Fetch");
        if (fetch.Imap is { } imap)
        {
            var server = ServerEndpoint.From("imap", imap, services.Environment);
            var folder = imap.Folder ?? "INBOX";
            return (new ImapSource(server, Account.Name, folder, logger), $"{server} {folder}");
        }

        if (fetch.Pop3 is { } pop3)
        {
            var server = ServerEndpoint.From("pop3", pop3, services.Environment);
            return (new Pop3Source(server, Account.Name), server.ToString());
        }

        return (new MaildirSource(fetch.Maildir!, Account.Name), $"maildir {fetch.Maildir}");
    }

    /// <summary>Where a sent message's copy goes (the account's IMAP <c>send.sent_folder</c>); null when nowhere.</summary>
    private ImapSentCopy? SentCopy(SendConfig send) =>
        send.SentFolder is { } folder && Account.Fetch?.Imap is { } imap
            ? new ImapSentCopy(ServerEndpoint.From("imap", imap, services.Environment), folder)
            : null;

    /// <summary>The account's SMTP or pickup transport; null when it does not send.</summary>
    private IMailTransport? Transport()
    {
        if (Account.Send?.Smtp is { } smtp)
        {
            return new SmtpTransport(ServerEndpoint.From("smtp", smtp, services.Environment));
        }

        return Account.Send?.Pickup is { } pickup ? new PickupTransport(pickup) : null;
    }

    private static string RunFailed(Exception e) => $"the run failed: {e.GetType().Name}: {e.Message.Split('\n')[0]}";
}
