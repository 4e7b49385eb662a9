using MailKit.Net.Smtp;
using MimeKit;
using RuleMail.Application;

namespace RuleMail.Host.Transport;

/// <summary>
/// Sends through an SMTP server; connects on first use and keeps the session for the rest of the run. Each copy goes
/// to exactly its envelope recipients, never to the addresses in its headers, and without its Bcc headers.
/// </summary>
internal sealed class SmtpTransport(ServerEndpoint server) : IMailTransport
{
    /// <summary>
    /// What is written to the server: no Bcc or Resent-Bcc (they would reveal the Bcc recipients to everyone), no
    /// Content-Length. MailKit hides these itself only in the overloads without options; given options, it hides
    /// nothing, so they are said here. Never changed after it is made; MailKit clones it for each send.
    /// </summary>
    private static readonly FormatOptions Transmitted = CreateTransmitted();

    private readonly SmtpClient _client = new();

    public string Describe => server.ToString();

    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        if (!_client.IsConnected)
        {
            await MailConnection.ConnectAsync(_client, server, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task SendAsync(OutgoingCopy copy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(copy);
        if (copy.Recipients.Count == 0)
        {
            throw new ArgumentException("a copy needs at least one envelope recipient", nameof(copy));
        }

        var sender = copy.Message.Sender ?? copy.Message.From.Mailboxes.FirstOrDefault()
            ?? throw new InvalidOperationException("a message needs a From address before it is sent");
        var recipients = copy.Recipients.Select(address => new MailboxAddress(string.Empty, address)).ToList();
        await ConnectAsync(cancellationToken).ConfigureAwait(false);

        try
        {
            await MailConnection.GuardAsync(server, "cannot send", async () =>
                await _client.SendAsync(Transmitted, copy.Message, sender, recipients, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        }
        catch (MailSourceException e) when (e.InnerException is SmtpCommandException { StatusCode: >= (SmtpStatusCode)500 } rejected)
        {
            throw new MailRejectedException($"{server} refused the message: {(int)rejected.StatusCode} {rejected.Message.Split('\n')[0]}", rejected);
        }
    }

    public bool AlreadyDelivered(OutgoingCopy copy) => false;

    public async ValueTask DisposeAsync() => await MailConnection.DisconnectQuietlyAsync(_client).ConfigureAwait(false);

    private static FormatOptions CreateTransmitted()
    {
        var options = FormatOptions.Default.Clone();
        options.HiddenHeaders.Add(HeaderId.Bcc);
        options.HiddenHeaders.Add(HeaderId.ResentBcc);
        options.HiddenHeaders.Add(HeaderId.ContentLength);
        return options;
    }
}
