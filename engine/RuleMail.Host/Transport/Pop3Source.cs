using System.Globalization;
using MailKit.Net.Pop3;
using RuleMail.Host.State;

namespace RuleMail.Host.Transport;

/// <summary>
/// A POP3 maildrop (folder <c>POP3</c>). Messages are keyed by their UIDL, which the server must support; nothing
/// is ever deleted (no <c>DELE</c>), so a message stays on the server and the ledger remembers it was seen.
/// POP3 has no keywords or folders: those actions are reported unsupported.
/// </summary>
/// <remarks>
/// Within one session the maildrop is locked and message numbers are stable (RFC 1939), so
/// <see cref="SourceMessage.Location"/> is the zero-based index in this session; a message listed by another
/// session is found again by its UIDL.
/// </remarks>
/// <param name="server">The server, with the password already read from the environment (<c>ToString</c> never shows it).</param>
/// <param name="account">The account the ledger files this maildrop's messages under.</param>
internal sealed class Pop3Source(ServerEndpoint server, string account) : IMailSource
{
    private readonly Pop3Client _client = new();
    private IList<string>? _uids;

    public string Folder => "POP3";

    /// <summary>
    /// False: a POP3 server locks the maildrop for the whole session (RFC 1939, section 4), so the workers of other nodes
    /// could not open sessions of their own beside the lister's, and a message number holds only within its session. A
    /// cluster's lease holder works through the maildrop whole, one session at a time.
    /// </summary>
    public bool FetchesByKey => false;

    /// <summary>Connects, logs in and checks that the server can name messages by UIDL.</summary>
    /// <exception cref="MailSourceException">The server is unreachable, refused the login, or has no UIDL.</exception>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(server);
        if (server.User is null)
        {
            throw new MailSourceException($"{server}: POP3 needs a user to log in");
        }

        await MailConnection.ConnectAsync(_client, server, cancellationToken).ConfigureAwait(false);

        // MailKit learns UIDL from CAPA, or by probing when the maildrop is not empty.
        if (!_client.SupportsUids && _client.Count > 0)
        {
            throw new MailSourceException($"{server}: the server does not support UIDL, which RuleMail needs to fetch each message once");
        }
    }

    public async Task<IReadOnlyList<SourceMessage>> ListAsync(IStateStore state, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        var uids = await UidsAsync(cancellationToken).ConfigureAwait(false);
        if (uids.Count == 0)
        {
            return [];
        }

        var distinct = uids.Distinct(StringComparer.Ordinal).ToList();
        var known = await state.FindMessagesAsync(account, Folder, distinct, cancellationToken).ConfigureAwait(false);
        var due = await state.DueMessagesAsync(account, Folder, now, cancellationToken).ConfigureAwait(false);
        var dueKeys = due.Select(entry => entry.SourceKey).ToHashSet(StringComparer.Ordinal);
        var listed = new List<SourceMessage>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var index = 0; index < uids.Count; index++)
        {
            var uid = uids[index];
            if (seen.Add(uid) && (!known.ContainsKey(uid) || dueKeys.Contains(uid)))
            {
                listed.Add(new SourceMessage(uid, Location: index.ToString(CultureInfo.InvariantCulture)));
            }
        }

        return listed;
    }

    /// <summary>Copies the message as the server stores it (RETR); false when its UIDL is no longer in the maildrop.</summary>
    /// <remarks>
    /// POP3 has no "read" state, but a server that also serves the mailbox over IMAP may record RETR as \Seen
    /// (Dovecot does unless <c>pop3_no_flag_updates = yes</c>); MailKit offers no whole-message TOP to avoid it.
    /// </remarks>
    public async Task<bool> CopyToAsync(SourceMessage message, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(destination);
        var index = await IndexAsync(message, cancellationToken).ConfigureAwait(false);
        if (index < 0)
        {
            return false;
        }

        return await MailConnection.GuardAsync(server, $"cannot read message {message.SourceKey}", async () =>
        {
            var stream = await _client.GetStreamAsync(index, headersOnly: false, cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                await stream.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
            }

            return true;
        }).ConfigureAwait(false);
    }

    /// <summary>Nothing to do: the ledger remembers which UIDLs were seen.</summary>
    public Task RecordedAsync(SourceMessage message, IStateStore state, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<SourceActionResult> AddKeywordAsync(SourceMessage message, string keyword, CancellationToken cancellationToken) =>
        Task.FromResult(SourceActionResult.Unsupported("POP3 has no keywords"));

    public Task<SourceActionResult> MoveAsync(SourceMessage message, string folder, CancellationToken cancellationToken) =>
        Task.FromResult(SourceActionResult.Unsupported("POP3 has no folders"));

    /// <summary>A POP3 message never moves: it is where it was fetched, found by its UIDL.</summary>
    public Task<bool> CopyToAsync(MessageLocation location, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(location);
        return location.Key is { } uidl && location.IsIn(Folder)
            ? CopyToAsync(new SourceMessage(uidl), destination, cancellationToken)
            : Task.FromResult(false);
    }

    /// <summary>Nothing to find: a POP3 message keeps its UIDL and never moves.</summary>
    public Task<IReadOnlyList<MessageLocation>> FindAsync(string folder, string messageId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<MessageLocation>>([]);

    public Task<SourceActionResult> AddKeywordAsync(MessageLocation location, string keyword, CancellationToken cancellationToken) =>
        Task.FromResult(SourceActionResult.Unsupported("POP3 has no keywords"));

    public Task<SourceActionResult> RemoveKeywordAsync(MessageLocation location, string keyword, CancellationToken cancellationToken) =>
        Task.FromResult(SourceActionResult.Unsupported("POP3 has no keywords"));

    public Task<SourceActionResult> MoveAsync(MessageLocation location, string folder, CancellationToken cancellationToken) =>
        Task.FromResult(SourceActionResult.Unsupported("POP3 has no folders"));

    /// <summary>Ends the session with QUIT (which deletes nothing: nothing was marked for deletion); never throws.</summary>
    public async ValueTask DisposeAsync() => await MailConnection.DisconnectQuietlyAsync(_client).ConfigureAwait(false);

    /// <summary>The UIDLs of this session, by index (read once: the maildrop does not change during a session).</summary>
    private async Task<IList<string>> UidsAsync(CancellationToken cancellationToken)
    {
        if (_uids is null)
        {
            if (!_client.IsAuthenticated)
            {
                throw new InvalidOperationException("ConnectAsync first");
            }

            _uids = _client.Count == 0
                ? []
                : await MailConnection.GuardAsync(server, "cannot list the messages (UIDL)", () => _client.GetMessageUidsAsync(cancellationToken))
                    .ConfigureAwait(false);
        }

        return _uids;
    }

    /// <summary>The message's index in this session: its listed index while that still has its UIDL, else found by UIDL; -1 when gone.</summary>
    private async Task<int> IndexAsync(SourceMessage message, CancellationToken cancellationToken)
    {
        var uids = await UidsAsync(cancellationToken).ConfigureAwait(false);
        if (int.TryParse(message.Location, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            && index < uids.Count && string.Equals(uids[index], message.SourceKey, StringComparison.Ordinal))
        {
            return index;
        }

        for (var i = 0; i < uids.Count; i++)
        {
            if (string.Equals(uids[i], message.SourceKey, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
