using System.Globalization;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using Microsoft.Extensions.Logging;
using RuleMail.Host.State;

namespace RuleMail.Host.Transport;

/// <summary>
/// An IMAP folder. New messages are the UIDs above the folder's cursor <c>(UIDVALIDITY, last UID)</c>; when the
/// server resets UIDVALIDITY every message is listed again and the pipeline recognises the ones it has seen by
/// their content hash. Messages are read with BODY.PEEK in chunks (never marked read, never held whole in memory).
/// </summary>
internal sealed partial class ImapSource(ServerEndpoint server, string account, string folderName, ILogger logger) : IMailSource
{
    private const int ChunkSize = 1024 * 1024;
    private const int CursorSaveInterval = 100;

    /// <summary>True once <see cref="ListAsync"/> ran: the cursor is this session's to move.</summary>
    private bool _listed;
    private readonly ImapClient _client = new();
    private IMailFolder? _folder;
    private uint _uidValidity;
    private uint _lastUid;
    private int _unsaved;

    public string Folder => folderName;

    public bool IsConnected => _client.IsConnected && _client.IsAuthenticated && _folder is { IsOpen: true };

    public async Task<bool> RefreshAsync(CancellationToken cancellationToken)
    {
        if (!IsConnected)
        {
            return false;
        }

        try
        {
            // A session sees the folder as of its last command: without this, a message delivered since (and queued by
            // another session's listing) is not found by its UID, and would be taken for one gone before it was read.
            await _client.NoOpAsync(cancellationToken).ConfigureAwait(false);
            return IsConnected;
        }
        catch (Exception e) when (MailConnection.IsTransient(e))
        {
            return false;
        }
    }

    /// <summary>True: UIDs hold across sessions (within a UIDVALIDITY), and sessions on a folder do not exclude each other.</summary>
    public bool FetchesByKey => true;

    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        await MailConnection.ConnectAsync(_client, server, cancellationToken).ConfigureAwait(false);
        try
        {
            _folder = await MailConnection.GuardAsync(server, $"cannot open {folderName}", async () =>
            {
                var opened = string.Equals(folderName, "INBOX", StringComparison.OrdinalIgnoreCase)
                    ? _client.Inbox
                    : await _client.GetFolderAsync(folderName, cancellationToken).ConfigureAwait(false);
                await opened.OpenAsync(FolderAccess.ReadWrite, cancellationToken).ConfigureAwait(false);
                return opened;
            }).ConfigureAwait(false);

            // The session's UIDVALIDITY, so a message queued by another node (under the same UIDVALIDITY) is found by its UID.
            _uidValidity = _folder.UidValidity;
        }
        catch (FolderNotFoundException e)
        {
            throw new MailSourceException($"{server}: the folder {folderName} does not exist (see fetch.imap.folder)", e);
        }
    }

    public async Task<IReadOnlyList<SourceMessage>> ListAsync(IStateStore state, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        var opened = Opened;
        _uidValidity = opened.UidValidity;
        _listed = true;
        var cursor = await state.GetCursorAsync(account, folderName, cancellationToken).ConfigureAwait(false);
        _lastUid = cursor?.UidValidity == _uidValidity ? cursor.LastUid : 0;
        if (cursor is not null && cursor.UidValidity != _uidValidity)
        {
            logger.LogWarning("{Account}: {Folder} changed UIDVALIDITY from {Old} to {New}; every message is listed again and known ones are recognised by content",
                account, folderName, cursor.UidValidity, _uidValidity);
        }

        // "n:*" also returns the last message when n is past it, so filter.
        var range = new UniqueIdRange(new UniqueId(_uidValidity, _lastUid + 1), UniqueId.MaxValue);
        var fresh = await MailConnection.GuardAsync(server, $"cannot search {folderName}",
            () => opened.SearchAsync(SearchQuery.Uids(range), cancellationToken)).ConfigureAwait(false);
        var due = await state.DueMessagesAsync(account, folderName, now, cancellationToken).ConfigureAwait(false);

        var uids = new SortedSet<uint>(fresh.Where(u => u.Id > _lastUid).Select(u => u.Id));
        foreach (var entry in due)
        {
            if (entry.UidValidity == _uidValidity && entry.Uid is { } uid)
            {
                uids.Add(uid);
            }
        }

        return [.. uids.Select(uid => new SourceMessage(Key(_uidValidity, uid), _uidValidity, uid))];
    }

    public async Task<bool> CopyToAsync(SourceMessage message, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(destination);
        var uid = Uid(message);
        var opened = Opened;
        return await MailConnection.GuardAsync(server, $"cannot read UID {uid.Id}", async () =>
        {
            for (var offset = 0; ; offset += ChunkSize)
            {
                Stream chunk;
                try
                {
                    chunk = await opened.GetStreamAsync(uid, offset, ChunkSize, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (offset == 0 && e is MessageNotFoundException or ImapCommandException)
                {
                    // No message came back for the UID: gone (expunged), if a search agrees — one command per message
                    // that is there, not a search before every fetch.
                    if (!await ExistsAsync(uid, cancellationToken).ConfigureAwait(false))
                    {
                        return false;
                    }

                    throw;
                }

                await using var read = chunk;
                var before = destination.Position;
                await read.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
                if (destination.Position - before < ChunkSize)
                {
                    return true;
                }
            }
        }).ConfigureAwait(false);
    }

    public async Task RecordedAsync(SourceMessage message, IStateStore state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        // Only a session that listed the folder moves its cursor; a cluster's worker, which fetches queued UIDs, never does.
        if (_listed && message.UidValidity == _uidValidity && message.Uid is { } uid && uid > _lastUid)
        {
            _lastUid = uid;

            // Each save is a disk sync; the ledger already says the message is known, so save the cursor now and then.
            if (++_unsaved >= CursorSaveInterval)
            {
                await FlushAsync(state, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public async Task FlushAsync(IStateStore state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (_unsaved > 0)
        {
            await state.SetCursorAsync(new FolderCursor(account, folderName, _uidValidity, _lastUid), cancellationToken).ConfigureAwait(false);
            _unsaved = 0;
        }
    }

    public async Task<SourceActionResult> AddKeywordAsync(SourceMessage message, string keyword, CancellationToken cancellationToken)
    {
        var uid = Uid(message);
        var opened = Opened;
        if (!opened.PermanentFlags.HasFlag(MessageFlags.UserDefined) && !opened.PermanentKeywords.Contains(keyword))
        {
            return SourceActionResult.Unsupported($"{folderName} does not accept keywords (PERMANENTFLAGS has no \\*)");
        }

        return await MailConnection.GuardAsync(server, $"cannot set keyword {keyword}", async () =>
        {
            if (!await ExistsAsync(uid, cancellationToken).ConfigureAwait(false))
            {
                return SourceActionResult.Gone;
            }

            try
            {
                await opened.StoreAsync(uid, new StoreFlagsRequest(StoreAction.Add, [keyword]) { Silent = true }, cancellationToken).ConfigureAwait(false);
            }
            catch (ImapCommandException e) when (e.Response is ImapCommandResponse.No or ImapCommandResponse.Bad)
            {
                return SourceActionResult.Unsupported($"the server refused keyword {keyword}: {e.ResponseText}");
            }

            return SourceActionResult.Ok;
        }).ConfigureAwait(false);
    }

    public async Task<SourceActionResult> MoveAsync(SourceMessage message, string folder, CancellationToken cancellationToken)
    {
        var uid = Uid(message);
        var opened = Opened;
        return await MailConnection.GuardAsync(server, $"cannot move UID {uid.Id} to {folder}", async () =>
        {
            if (!await ExistsAsync(uid, cancellationToken).ConfigureAwait(false))
            {
                return SourceActionResult.Gone;
            }

            IMailFolder destination;
            try
            {
                destination = await FolderAsync(folder, cancellationToken).ConfigureAwait(false);
            }
            catch (ImapCommandException e) when (e.Response is ImapCommandResponse.No or ImapCommandResponse.Bad)
            {
                return SourceActionResult.Unsupported($"the server refused folder {folder}: {e.ResponseText}");
            }

            UniqueId? moved;
            try
            {
                moved = await opened.MoveToAsync(uid, destination, cancellationToken).ConfigureAwait(false);
            }
            catch (ImapCommandException e) when (e.Response is ImapCommandResponse.No or ImapCommandResponse.Bad)
            {
                return await StillThereAsync(uid, cancellationToken).ConfigureAwait(false)
                    ? SourceActionResult.Unsupported($"the server refused the move to {folder}: {e.ResponseText}")
                    : SourceActionResult.Gone; // Expunged by another session meanwhile.
            }

            return Moved(folder, moved);
        }).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await MailConnection.DisconnectQuietlyAsync(_client).ConfigureAwait(false);

    /// <summary>The ledger key of an IMAP message: <c>UIDVALIDITY:UID</c>.</summary>
    public static string Key(uint uidValidity, uint uid) =>
        string.Create(CultureInfo.InvariantCulture, $"{uidValidity}:{uid}");

    private IMailFolder Opened => _folder ?? throw new InvalidOperationException("ConnectAsync first");

    private UniqueId Uid(SourceMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Uid is { } uid && message.UidValidity == _uidValidity
            ? new UniqueId(_uidValidity, uid)
            : throw new InvalidOperationException($"{message.SourceKey} is not a message of this folder session");
    }

    private async Task<bool> ExistsAsync(UniqueId uid, CancellationToken cancellationToken)
    {
        var found = await Opened.SearchAsync(SearchQuery.Uids([uid]), cancellationToken).ConfigureAwait(false);
        return found.Count > 0;
    }

    /// <summary>Lets the server report other sessions' expunges (NOOP), then looks again.</summary>
    private async Task<bool> StillThereAsync(UniqueId uid, CancellationToken cancellationToken)
    {
        await _client.NoOpAsync(cancellationToken).ConfigureAwait(false);
        return await ExistsAsync(uid, cancellationToken).ConfigureAwait(false);
    }

    private Task<IMailFolder> FolderAsync(string name, CancellationToken cancellationToken) =>
        MailConnection.FolderAsync(_client, server, name, () => logger.LogInformation("{Account}: creating folder {Folder}", account, name), cancellationToken);
}
