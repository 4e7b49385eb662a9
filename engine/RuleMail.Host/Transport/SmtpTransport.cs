using MailKit.Net.Smtp;
using MimeKit;

namespace RuleMail.Host.Transport;

/// <summary>Sends through an SMTP server; connects on first use and keeps the session for the rest of the run.</summary>
public sealed class SmtpTransport(ServerEndpoint server) : IMailTransport
{
    private readonly SmtpClient _client = new();

    public string Describe => server.ToString();

    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        if (!_client.IsConnected)
        {
            await MailConnection.ConnectAsync(_client, server, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        await ConnectAsync(cancellationToken).ConfigureAwait(false);

        try
        {
            await MailConnection.GuardAsync(server, "cannot send", async () =>
                await _client.SendAsync(message, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        }
        catch (MailSourceException e) when (e.InnerException is SmtpCommandException { StatusCode: >= (SmtpStatusCode)500 } rejected)
        {
            throw new MailRejectedException($"{server} refused the message: {(int)rejected.StatusCode} {rejected.Message.Split('\n')[0]}", rejected);
        }
    }

    public bool AlreadyDelivered(string messageId) => false;

    public async ValueTask DisposeAsync() => await MailConnection.DisconnectQuietlyAsync(_client).ConfigureAwait(false);
}
