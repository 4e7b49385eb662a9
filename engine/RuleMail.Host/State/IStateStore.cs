namespace RuleMail.Host.State;

/// <summary>
/// What the host remembers between runs: where each folder was read up to, every message it has seen
/// with its result and planned side effects, and every outbox message's state. SQLite is the embedded
/// implementation; a clustered one (PostgreSQL) implements the same contract.
/// </summary>
/// <remarks>
/// Exactly-once rests on two rules every implementation keeps: <see cref="RecordAsync"/> writes a message
/// and its whole side-effect plan in one transaction, and a side effect's <see cref="SideEffect.IdempotencyKey"/>
/// is unique, so recording the same plan twice never doubles it. Times are stored as UTC.
/// </remarks>
public interface IStateStore : IAsyncDisposable
{
    /// <summary>Creates the schema when it is missing (idempotent; safe on every start).</summary>
    /// <summary>
    /// Makes everything committed so far count towards the high-water mark, durably, so a store that later loses
    /// those commits is refused at open instead of repeating side effects. Call it before a side effect runs.
    /// </summary>
    Task SealAsync(CancellationToken cancellationToken);

    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>The IMAP folder's cursor, or null when the folder was never read.</summary>
    Task<FolderCursor?> GetCursorAsync(string account, string folder, CancellationToken cancellationToken);

    /// <summary>Inserts or replaces the folder's cursor.</summary>
    Task SetCursorAsync(FolderCursor cursor, CancellationToken cancellationToken);

    /// <summary>The ledger entries among <paramref name="sourceKeys"/> (keyed by source key); unknown keys are absent.</summary>
    Task<IReadOnlyDictionary<string, LedgerEntry>> FindMessagesAsync(
        string account, string folder, IReadOnlyCollection<string> sourceKeys, CancellationToken cancellationToken);

    /// <summary>An entry of the account and folder with this content hash (after a UIDVALIDITY change, the same message under a new key).</summary>
    Task<LedgerEntry?> FindByContentHashAsync(string account, string folder, string contentHash, CancellationToken cancellationToken);

    /// <summary>Entries of the folder still in <see cref="MessageState.Processing"/> or <see cref="MessageState.Retry"/> whose next attempt is due at <paramref name="now"/>.</summary>
    Task<IReadOnlyList<LedgerEntry>> DueMessagesAsync(string account, string folder, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the entry (insert, or replace the one with the same account, folder and source key) and inserts
    /// the side effects whose idempotency key is not yet known, in one transaction.
    /// </summary>
    Task RecordAsync(LedgerEntry entry, IReadOnlyList<SideEffect> plan, CancellationToken cancellationToken);

    /// <summary>Updates an entry's state, attempts, next attempt and error (matched by account, folder and source key).</summary>
    Task UpdateMessageAsync(LedgerEntry entry, CancellationToken cancellationToken);

    /// <summary>The message's side effects in their <see cref="SideEffect.Order"/>.</summary>
    Task<IReadOnlyList<SideEffect>> SideEffectsAsync(string account, string folder, string sourceKey, CancellationToken cancellationToken);

    /// <summary>Updates a side effect's state, attempts and detail (matched by idempotency key).</summary>
    Task UpdateSideEffectAsync(SideEffect effect, CancellationToken cancellationToken);

    /// <summary>Counts of the account's entries by state (for reports).</summary>
    Task<IReadOnlyDictionary<MessageState, int>> CountMessagesAsync(string account, CancellationToken cancellationToken);

    /// <summary>The outbox entry for this file and content, or null.</summary>
    Task<OutboxEntry?> FindOutboxAsync(string account, string fileName, string contentHash, CancellationToken cancellationToken);

    /// <summary>Inserts or replaces the outbox entry (matched by account, file name and content hash).</summary>
    Task SaveOutboxAsync(OutboxEntry entry, CancellationToken cancellationToken);
}
