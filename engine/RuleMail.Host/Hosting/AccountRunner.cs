using Microsoft.Extensions.Logging;
using RuleMail.Host.Configuration;
using RuleMail.Host.Fetch;
using RuleMail.Host.Mail;
using RuleMail.Host.Processing;

namespace RuleMail.Host.Hosting;

/// <summary>One account's two jobs — fetch and send — each opening its servers for the run and closing them after.</summary>
public sealed class AccountRunner(HostServices services, AccountConfig account)
{
    public AccountConfig Account { get; } = account;

    public bool Fetches => Account.Fetch is not null;

    public bool Sends => Account.Send?.Outbox is not null;

    /// <summary>Fetches and processes the account's new mail once.</summary>
    public async Task<FetchReport> FetchAsync(IProgress<ProcessedMessage>? progress, CancellationToken cancellationToken)
    {
        var fetch = Account.Fetch ?? throw new InvalidOperationException($"{Account.Name} has no fetch");
        var (source, description) = Source(fetch);
        await using (source.ConfigureAwait(false))
        {
            var transport = Transport();
            await using (transport.ConfigureAwait(false))
            {
                var pipeline = new IncomingPipeline(services, Account, transport as IMailTransport);
                try
                {
                    return await pipeline.RunAsync(source, description, progress, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A bug must not stop the other accounts or the schedule: report it like an outage, retry later.
                    services.Logging.CreateLogger("RuleMail.Fetch").LogError(e, "{Account}: the fetch run failed", Account.Name);
                    return new FetchReport(Account.Name, description) { Error = $"the run failed: {e.GetType().Name}: {e.Message.Split('\n')[0]}" };
                }
            }
        }
    }

    /// <summary>Sends (or holds) what waits in the account's outbox once.</summary>
    public async Task<SendReport> SendAsync(IProgress<SentMessage>? progress, CancellationToken cancellationToken)
    {
        var send = Account.Send ?? throw new InvalidOperationException($"{Account.Name} has no send");
        var transport = Transport() as IMailTransport ?? throw new InvalidOperationException($"{Account.Name} has no smtp or pickup");
        await using (transport.ConfigureAwait(false))
        {
            var sentCopy = send.SentFolder is { } folder && Account.Fetch?.Imap is { } imap
                ? new ImapSentCopy(ServerEndpoint.From("imap", imap, services.Environment), folder)
                : null;
            try
            {
                return await new OutboxSender(services, Account, send.Outbox!, transport, sentCopy).RunAsync(progress, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                services.Logging.CreateLogger("RuleMail.Send").LogError(e, "{Account}: the send run failed", Account.Name);
                return new SendReport(Account.Name, transport.Describe) { Error = $"the run failed: {e.GetType().Name}: {e.Message.Split('\n')[0]}" };
            }
            finally
            {
                if (sentCopy is not null)
                {
                    await sentCopy.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
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

    /// <summary>The account's SMTP or pickup transport, or an object that is only disposable when it sends nothing.</summary>
    private IAsyncDisposable Transport()
    {
        if (Account.Send?.Smtp is { } smtp)
        {
            return new SmtpTransport(ServerEndpoint.From("smtp", smtp, services.Environment));
        }

        if (Account.Send?.Pickup is { } pickup)
        {
            return new PickupTransport(pickup);
        }

        return NoTransport.Instance;
    }

    private sealed class NoTransport : IAsyncDisposable
    {
        public static NoTransport Instance { get; } = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
