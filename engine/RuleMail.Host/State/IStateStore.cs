namespace RuleMail.Host.State;

/// <summary>
/// What the host remembers between runs: where each folder was read up to, every message it has seen with each
/// analysis of it and the side effects each planned, where a moved message is now, and every outbox message's
/// state. SQLite is the embedded implementation; a clustered one (PostgreSQL) implements the same contract.
/// </summary>
/// <remarks>
/// Exactly-once rests on three rules every implementation keeps: <see cref="RecordAsync"/> and
/// <see cref="RecordAnalysisAsync"/> write a message (with its analysis) and its whole side-effect plan in one
/// transaction; a side effect's <see cref="SideEffect.IdempotencyKey"/> is unique, so recording the same plan twice
/// never doubles it; and an analysis version is recorded once, so two retries of one message cannot both plan as
/// version N. Times are stored as UTC.
/// </remarks>
public interface IStateStore : IAsyncDisposable
{
    /// <summary>Creates the schema when it is missing and upgrades an older one (idempotent; safe on every start).</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Makes everything committed so far count towards the high-water mark, durably, so a store that later loses
    /// those commits is refused at open instead of repeating side effects. Call it before a side effect runs.
    /// </summary>
    Task SealAsync(CancellationToken cancellationToken);

    /// <summary>The IMAP folder's cursor, or null when the folder was never read.</summary>
    Task<FolderCursor?> GetCursorAsync(string account, string folder, CancellationToken cancellationToken);

    /// <summary>Inserts or replaces the folder's cursor.</summary>
    Task SetCursorAsync(FolderCursor cursor, CancellationToken cancellationToken);

    /// <summary>
    /// The ledger entries known in <paramref name="folder"/> under <paramref name="sourceKeys"/>, keyed by the key asked
    /// for: entries fetched from the folder under that key, and entries whose message a move put there under that key
    /// (<see cref="LedgerEntry.Location"/>: a message a retry moved back to INBOX got a new UID there). Unknown keys are absent.
    /// </summary>
    Task<IReadOnlyDictionary<string, LedgerEntry>> FindMessagesAsync(
        string account, string folder, IReadOnlyCollection<string> sourceKeys, CancellationToken cancellationToken);

    /// <summary>An entry of the account and folder with this content hash (after a UIDVALIDITY change, the same message under a new key).</summary>
    Task<LedgerEntry?> FindByContentHashAsync(string account, string folder, string contentHash, CancellationToken cancellationToken);

    /// <summary>Entries of the folder still in <see cref="MessageState.Processing"/> or <see cref="MessageState.Retry"/> whose next attempt is due at <paramref name="now"/>.</summary>
    Task<IReadOnlyList<LedgerEntry>> DueMessagesAsync(string account, string folder, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>The analysed entries <paramref name="query"/> selects (never-analysed ones are not listed), by account, folder and source key.</summary>
    Task<IReadOnlyList<LedgerEntry>> AnalysedMessagesAsync(LedgerQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// A page of the ledger, newest first (<see cref="LedgerPageQuery"/>: by account, security outcome, state, time,
    /// after a given entry), analysed or not: what the HTTP API's <c>GET /api/v1/messages</c> lists.
    /// </summary>
    Task<IReadOnlyList<LedgerEntry>> ListMessagesAsync(LedgerPageQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the entry (insert, or replace the one with the same account, folder and source key, keeping its
    /// analysis version and location) and inserts the side effects whose idempotency key is not yet known, in one
    /// transaction. For entries without an analysis (failed before it, or a duplicate); see <see cref="RecordAnalysisAsync"/>.
    /// </summary>
    Task RecordAsync(LedgerEntry entry, IReadOnlyList<SideEffect> plan, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the entry as <see cref="RecordAsync"/> does, with its new analysis and that analysis' plan, in one
    /// transaction: the entry's <see cref="LedgerEntry.AnalysisVersion"/> and <see cref="LedgerEntry.Location"/> become
    /// the ones given. The analysis must be the next version of the message (1 for a message never analysed).
    /// </summary>
    /// <exception cref="InvalidOperationException">That version is already recorded, or it is not the next one: someone else judged the message meanwhile.</exception>
    Task RecordAnalysisAsync(LedgerEntry entry, MessageAnalysis analysis, IReadOnlyList<SideEffect> plan, CancellationToken cancellationToken);

    /// <summary>
    /// Records analyses that planned nothing (each entry <see cref="MessageState.Done"/>), each as
    /// <see cref="RecordAnalysisAsync"/> with an empty plan would, all in one transaction: one commit, one disk sync, for a
    /// batch of plain mail. All or nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException">An analysis' version is already recorded or is not the next one; none is recorded.</exception>
    Task RecordDoneAnalysesAsync(IReadOnlyList<DoneAnalysis> analyses, CancellationToken cancellationToken);

    /// <summary>Every analysis of the message, oldest first.</summary>
    Task<IReadOnlyList<MessageAnalysis>> AnalysesAsync(string account, string folder, string sourceKey, CancellationToken cancellationToken);

    /// <summary>Updates an entry's state, attempts, next attempt and error (matched by account, folder and source key).</summary>
    Task UpdateMessageAsync(LedgerEntry entry, CancellationToken cancellationToken);

    /// <summary>The message's side effects of every analysis, by analysis version, then in each plan's <see cref="SideEffect.Order"/>.</summary>
    Task<IReadOnlyList<SideEffect>> SideEffectsAsync(string account, string folder, string sourceKey, CancellationToken cancellationToken);

    /// <summary>Updates a side effect's state, attempts and detail (matched by idempotency key).</summary>
    Task UpdateSideEffectAsync(SideEffect effect, CancellationToken cancellationToken);

    /// <summary>
    /// Updates a move's side effect as <see cref="UpdateSideEffectAsync"/> does and sets its message's
    /// <see cref="LedgerEntry.Location"/> to where the move put it, in one transaction.
    /// </summary>
    Task RecordMoveAsync(SideEffect effect, MessageLocation location, CancellationToken cancellationToken);

    /// <summary>Counts of the account's entries by state (for reports).</summary>
    Task<IReadOnlyDictionary<MessageState, int>> CountMessagesAsync(string account, CancellationToken cancellationToken);

    /// <summary>The outbox entry for this file and content, or null.</summary>
    Task<OutboxEntry?> FindOutboxAsync(string account, string fileName, string contentHash, CancellationToken cancellationToken);

    /// <summary>Inserts or replaces the outbox entry (matched by account, file name and content hash).</summary>
    Task SaveOutboxAsync(OutboxEntry entry, CancellationToken cancellationToken);

    /// <summary>How many outbox entries each account has in each state; states without entries are absent (for the metrics).</summary>
    Task<IReadOnlyList<OutboxCount>> CountOutboxAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Outbox entries, most recently changed first, at most <paramref name="limit"/>: of one account and in one state,
    /// or of all when null.
    /// </summary>
    Task<IReadOnlyList<OutboxEntry>> ListOutboxAsync(string? account, OutboxState? state, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// The outbox entries of files of this name (of one account, or of every account when null), most recently changed
    /// first: a name a ticket system used again for other content, or in two accounts, has several.
    /// </summary>
    Task<IReadOnlyList<OutboxEntry>> FindOutboxByFileAsync(string? account, string fileName, CancellationToken cancellationToken);

    /// <summary>The account's outbox entries of files with this content (SHA-256, lowercase hex), most recently changed first.</summary>
    Task<IReadOnlyList<OutboxEntry>> FindOutboxByContentAsync(string account, string contentHash, CancellationToken cancellationToken);

    /// <summary>Adds an HTTP API token; false when a token of that name exists and is not revoked (a revoked one is replaced).</summary>
    Task<bool> AddTokenAsync(ApiToken token, CancellationToken cancellationToken);

    /// <summary>The token whose SHA-256 this is (revoked or not), or null.</summary>
    Task<ApiToken?> FindTokenAsync(string sha256, CancellationToken cancellationToken);

    /// <summary>Every token, revoked ones too, by name.</summary>
    Task<IReadOnlyList<ApiToken>> TokensAsync(CancellationToken cancellationToken);

    /// <summary>Revokes the named token; false when there is no live token of that name.</summary>
    Task<bool> RevokeTokenAsync(string name, DateTimeOffset at, CancellationToken cancellationToken);
}
