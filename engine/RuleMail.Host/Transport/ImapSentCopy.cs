using MailKit;
using MailKit.Net.Imap;
using MimeKit;

namespace RuleMail.Host.Transport;

/// <summary>Keeps a copy of each sent message (as sent: signed and/or encrypted) in an IMAP folder, marked read.</summary>
internal sealed class ImapSentCopy(ServerEndpoint server, string folder) : IAsyncDisposable
{
    private readonly ImapClient _client = new();
    private IMailFolder? _folder;

    public string Folder => folder;

    /// <summary>Appends the message; transient trouble is a <see cref="MailSourceException"/>.</summary>
    public async Task AppendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        if (!_client.IsConnected)
        {
            await MailConnection.ConnectAsync(_client, server, cancellationToken).ConfigureAwait(false);
            _folder = null;
        }

        await MailConnection.GuardAsync(server, $"cannot copy to {folder}", async () =>
        {
            _folder ??= await OpenAsync(cancellationToken).ConfigureAwait(false);
            return await _folder.AppendAsync(new AppendRequest(message, MessageFlags.Seen), cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await MailConnection.DisconnectQuietlyAsync(_client).ConfigureAwait(false);

    private Task<IMailFolder> OpenAsync(CancellationToken cancellationToken) =>
        MailConnection.FolderAsync(_client, server, folder, null, cancellationToken);
}
