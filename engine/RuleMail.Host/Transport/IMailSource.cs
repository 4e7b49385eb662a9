using RuleMail.Host.State;

namespace RuleMail.Host.Transport;

/// <summary>
/// One account's incoming folder (IMAP, POP3 or Maildir) as the pipeline sees it: list what may need work,
/// copy a message's raw bytes, and carry out the actions the source supports. A source never deletes a message.
/// </summary>
/// <remarks>
/// Transient trouble (connection refused or lost, timeouts, authentication refused) is thrown as
/// <see cref="MailSourceException"/>; the pipeline retries it with backoff. A message that has disappeared
/// is not an error: <see cref="CopyToAsync(SourceMessage, Stream, CancellationToken)"/> returns false and actions report <see cref="SourceActionResult.Gone"/>.
/// </remarks>
internal interface IMailSource : IAsyncDisposable
{
    /// <summary>The folder name recorded in the ledger (<c>INBOX</c> for a Maildir root, <c>POP3</c> for POP3).</summary>
    string Folder { get; }

    /// <summary>
    /// True when a message can be read and acted on by its key alone, from a connection of its own on any node, beside
    /// other connections to the same folder (IMAP by UID; a Maildir on storage every node mounts, by unique name): a
    /// cluster then queues the listed messages one by one for every node's workers. False when one session has to work
    /// through the folder whole (POP3).
    /// </summary>
    bool FetchesByKey { get; }

    /// <summary>Connects and opens the folder. Called once per run before anything else.</summary>
    Task ConnectAsync(CancellationToken cancellationToken);

    /// <summary>False once a connected session is known to be gone (the server closed it); a source without a session stays true.</summary>
    bool IsConnected => true;

    /// <summary>
    /// Brings a session kept open since an earlier batch up to date (IMAP: a NOOP, after which messages delivered
    /// meanwhile are visible to it and UID lookups find them) and checks that the server still answers.
    /// </summary>
    /// <returns>False when the session is gone: log in anew.</returns>
    Task<bool> RefreshAsync(CancellationToken cancellationToken) => Task.FromResult(true);

    /// <summary>
    /// The messages that may need work, oldest first: everything not known to the ledger (for IMAP: above the
    /// folder cursor) and the ledger's entries due for another attempt that are still there. The pipeline checks
    /// each against the ledger, so listing a message twice is harmless; missing one is not.
    /// </summary>
    Task<IReadOnlyList<SourceMessage>> ListAsync(State.IStateStore state, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Copies the raw message (as stored, without marking it read) to <paramref name="destination"/>; false when it is gone.</summary>
    Task<bool> CopyToAsync(SourceMessage message, Stream destination, CancellationToken cancellationToken);

    /// <summary>Called once the message is in the ledger, so the source may move its cursor past it.</summary>
    Task RecordedAsync(SourceMessage message, State.IStateStore state, CancellationToken cancellationToken);

    /// <summary>
    /// Called at the end of a run: a source that moves its cursor in memory and saves it now and then saves it here.
    /// (The ledger is the truth; a cursor saved late only makes the next run look at a few known messages again.)
    /// </summary>
    Task FlushAsync(State.IStateStore state, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Sets the keyword (an IMAP keyword, or its Maildir equivalent).</summary>
    Task<SourceActionResult> AddKeywordAsync(SourceMessage message, string keyword, CancellationToken cancellationToken);

    /// <summary>
    /// Moves the message to <paramref name="folder"/>, creating the folder when it is missing. When done, the result's
    /// <see cref="SourceActionResult.Location"/> says where the message is now (as far as the server tells).
    /// </summary>
    Task<SourceActionResult> MoveAsync(SourceMessage message, string folder, CancellationToken cancellationToken);

    // A message wherever it is now (a retry: in Quarantine, or back in INBOX under a new UID), not only in the
    // folder this source lists. ConnectAsync first; these need no ListAsync.

    /// <summary>Copies the raw message at <paramref name="location"/> (as stored, without marking it read); false when it is not there.</summary>
    Task<bool> CopyToAsync(MessageLocation location, Stream destination, CancellationToken cancellationToken);

    /// <summary>
    /// Where messages with this Message-ID are in <paramref name="folder"/>: how a message is found again whose key there
    /// is not known (an IMAP move without UIDPLUS, a move recorded before locations were) or no longer right. Empty when
    /// the source keeps keys across moves (Maildir, POP3).
    /// </summary>
    Task<IReadOnlyList<MessageLocation>> FindAsync(string folder, string messageId, CancellationToken cancellationToken);

    /// <summary>Sets the keyword on the message at <paramref name="location"/>.</summary>
    Task<SourceActionResult> AddKeywordAsync(MessageLocation location, string keyword, CancellationToken cancellationToken);

    /// <summary>Removes the keyword from the message at <paramref name="location"/> (done when it was not set).</summary>
    Task<SourceActionResult> RemoveKeywordAsync(MessageLocation location, string keyword, CancellationToken cancellationToken);

    /// <summary>
    /// Moves the message at <paramref name="location"/> to <paramref name="folder"/> (creating it when missing); when
    /// done, the result's <see cref="SourceActionResult.Location"/> is where it is now.
    /// </summary>
    Task<SourceActionResult> MoveAsync(MessageLocation location, string folder, CancellationToken cancellationToken);
}

/// <summary>A message in a source: its ledger key and, for IMAP, where it is.</summary>
/// <param name="SourceKey">Unique in the folder: <c>UIDVALIDITY:UID</c>, the UIDL, or the Maildir unique name.</param>
/// <param name="Location">Where the source finds it now (the Maildir file path, the POP3 index); not stored.</param>
internal sealed record SourceMessage(string SourceKey, uint? UidValidity = null, uint? Uid = null, string? Location = null);

/// <summary>How an action on a source message ended.</summary>
/// <param name="Done">True when it took effect (or already had).</param>
/// <param name="Detail">Why it was skipped, or what was found (the message was gone).</param>
internal sealed record SourceActionResult(bool Done, string? Detail = null)
{
    /// <summary>After a move: where the message is now (its key there null when the server did not say).</summary>
    public MessageLocation? Location { get; init; }

    public static SourceActionResult Ok { get; } = new(true);

    public static SourceActionResult Gone { get; } = new(false, "the message is no longer in the folder");

    public static SourceActionResult Unsupported(string why) => new(false, why);
}
