using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using RuleMail.Host.State;

namespace RuleMail.Host.Transport;

// A message wherever it is now (what a retry reads and acts on): any folder of the account, by UIDVALIDITY and UID,
// or by Message-ID when its UID there is not known. IMAP selects one folder at a time, so these open the folder they
// need; the listed folder is used as it is when the message is there.
internal sealed partial class ImapSource
{
    /// <summary>The folder a location operation selected last (null while only the listed folder was used).</summary>
    private IMailFolder? _selected;

    public async Task<bool> CopyToAsync(MessageLocation location, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(destination);
        return await MailConnection.GuardAsync(server, $"cannot read {location}", async () =>
        {
            if (await SelectAsync(location.Folder, cancellationToken).ConfigureAwait(false) is not { } folder
                || await UidAtAsync(folder, location, cancellationToken).ConfigureAwait(false) is not { } uid)
            {
                return false;
            }

            for (var offset = 0; ; offset += ChunkSize)
            {
                await using var chunk = await folder.GetStreamAsync(uid, offset, ChunkSize, cancellationToken).ConfigureAwait(false);
                var before = destination.Position;
                await chunk.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
                if (destination.Position - before < ChunkSize)
                {
                    return true;
                }
            }
        }).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<MessageLocation>> FindAsync(string folder, string messageId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        return await MailConnection.GuardAsync(server, $"cannot search {folder}", async () =>
        {
            if (await SelectAsync(folder, cancellationToken).ConfigureAwait(false) is not { } opened)
            {
                return (IReadOnlyList<MessageLocation>)[];
            }

            var found = await opened.SearchAsync(SearchQuery.HeaderContains("Message-ID", messageId), cancellationToken).ConfigureAwait(false);
            return [.. found.Select(uid => new MessageLocation(folder, Key(opened.UidValidity, uid.Id), opened.UidValidity, uid.Id))];
        }).ConfigureAwait(false);
    }

    public Task<SourceActionResult> AddKeywordAsync(MessageLocation location, string keyword, CancellationToken cancellationToken) =>
        StoreKeywordAsync(location, keyword, StoreAction.Add, cancellationToken);

    public Task<SourceActionResult> RemoveKeywordAsync(MessageLocation location, string keyword, CancellationToken cancellationToken) =>
        StoreKeywordAsync(location, keyword, StoreAction.Remove, cancellationToken);

    public async Task<SourceActionResult> MoveAsync(MessageLocation location, string folder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(folder);
        return await MailConnection.GuardAsync(server, $"cannot move {location} to {folder}", async () =>
        {
            if (await SelectAsync(location.Folder, cancellationToken).ConfigureAwait(false) is not { } opened
                || await UidAtAsync(opened, location, cancellationToken).ConfigureAwait(false) is not { } uid)
            {
                return SourceActionResult.Gone;
            }

            if (location.IsIn(folder))
            {
                return SourceActionResult.Ok with { Location = location };
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

            try
            {
                return Moved(folder, await opened.MoveToAsync(uid, destination, cancellationToken).ConfigureAwait(false));
            }
            catch (ImapCommandException e) when (e.Response is ImapCommandResponse.No or ImapCommandResponse.Bad)
            {
                return SourceActionResult.Unsupported($"the server refused the move to {folder}: {e.ResponseText}");
            }
        }).ConfigureAwait(false);
    }

    /// <summary>A done move: the message is in <paramref name="folder"/>, under the UID the server reported (COPYUID, with UIDPLUS).</summary>
    private static SourceActionResult Moved(string folder, UniqueId? moved) => SourceActionResult.Ok with
    {
        Location = moved is { } uid && uid.Validity != 0
            ? new MessageLocation(folder, Key(uid.Validity, uid.Id), uid.Validity, uid.Id)
            : new MessageLocation(folder, null),
    };

    private async Task<SourceActionResult> StoreKeywordAsync(MessageLocation location, string keyword, StoreAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(keyword);
        var verb = action == StoreAction.Add ? "set" : "remove";
        return await MailConnection.GuardAsync(server, $"cannot {verb} keyword {keyword} on {location}", async () =>
        {
            if (await SelectAsync(location.Folder, cancellationToken).ConfigureAwait(false) is not { } opened
                || await UidAtAsync(opened, location, cancellationToken).ConfigureAwait(false) is not { } uid)
            {
                return SourceActionResult.Gone;
            }

            if (action == StoreAction.Add && !opened.PermanentFlags.HasFlag(MessageFlags.UserDefined) && !opened.PermanentKeywords.Contains(keyword))
            {
                return SourceActionResult.Unsupported($"{location.Folder} does not accept keywords (PERMANENTFLAGS has no \\*)");
            }

            try
            {
                await opened.StoreAsync(uid, new StoreFlagsRequest(action, [keyword]) { Silent = true }, cancellationToken).ConfigureAwait(false);
            }
            catch (ImapCommandException e) when (e.Response is ImapCommandResponse.No or ImapCommandResponse.Bad)
            {
                return SourceActionResult.Unsupported($"the server refused to {verb} keyword {keyword}: {e.ResponseText}");
            }

            return SourceActionResult.Ok;
        }).ConfigureAwait(false);
    }

    /// <summary>The folder opened read-write: the listed one while the message is there, else selected by name; null when it does not exist.</summary>
    private async Task<IMailFolder?> SelectAsync(string name, CancellationToken cancellationToken)
    {
        if (_folder is not { } listed)
        {
            throw new InvalidOperationException("ConnectAsync first");
        }

        foreach (var open in new[] { listed, _selected })
        {
            if (open is { IsOpen: true } && MessageLocation.SameFolder(open.FullName, name))
            {
                return open;
            }
        }

        IMailFolder folder;
        try
        {
            folder = string.Equals(name, "INBOX", StringComparison.OrdinalIgnoreCase)
                ? _client.Inbox
                : await _client.GetFolderAsync(name, cancellationToken).ConfigureAwait(false);
        }
        catch (FolderNotFoundException)
        {
            return null;
        }

        await folder.OpenAsync(FolderAccess.ReadWrite, cancellationToken).ConfigureAwait(false);
        _selected = folder;
        return folder;
    }

    /// <summary>The location's UID when it is still the message's (same UIDVALIDITY, still in the folder); else null.</summary>
    private static async Task<UniqueId?> UidAtAsync(IMailFolder folder, MessageLocation location, CancellationToken cancellationToken)
    {
        if (location.Uid is not { } id || location.UidValidity != folder.UidValidity)
        {
            return null;
        }

        var uid = new UniqueId(folder.UidValidity, id);
        var found = await folder.SearchAsync(SearchQuery.Uids([uid]), cancellationToken).ConfigureAwait(false);
        return found.Count > 0 ? uid : null;
    }
}
