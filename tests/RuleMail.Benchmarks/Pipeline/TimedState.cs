using System.Diagnostics;
using RuleMail.Host.State;

namespace RuleMail.Benchmarks.Pipeline;

/// <summary>A state store that adds up the wall time spent in it (SQLite, WAL, synchronous=FULL) and counts the calls.</summary>
internal sealed class TimedState(IStateStore inner) : IStateStore
{
    private long _ticks;

    /// <summary>Stopwatch ticks spent in the store so far.</summary>
    public long Ticks => Interlocked.Read(ref _ticks);

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(0, Ticks);

    public int Calls { get; private set; }

    public Task<bool> AddTokenAsync(ApiToken token, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.AddTokenAsync(token, cancellationToken));

    public Task<ApiToken?> FindTokenAsync(string sha256, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.FindTokenAsync(sha256, cancellationToken));

    public Task<IReadOnlyList<ApiToken>> TokensAsync(CancellationToken cancellationToken) =>
        TimeAsync(() => inner.TokensAsync(cancellationToken));

    public Task<bool> RevokeTokenAsync(string name, DateTimeOffset at, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.RevokeTokenAsync(name, at, cancellationToken));

    public Task InitializeAsync(CancellationToken cancellationToken) => TimeAsync(() => inner.InitializeAsync(cancellationToken));

    public Task SealAsync(CancellationToken cancellationToken) => TimeAsync(() => inner.SealAsync(cancellationToken));

    public Task<FolderCursor?> GetCursorAsync(string account, string folder, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.GetCursorAsync(account, folder, cancellationToken));

    public Task SetCursorAsync(FolderCursor cursor, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.SetCursorAsync(cursor, cancellationToken));

    public Task<IReadOnlyDictionary<string, LedgerEntry>> FindMessagesAsync(
        string account, string folder, IReadOnlyCollection<string> sourceKeys, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.FindMessagesAsync(account, folder, sourceKeys, cancellationToken));

    public Task<LedgerEntry?> FindByContentHashAsync(string account, string folder, string contentHash, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.FindByContentHashAsync(account, folder, contentHash, cancellationToken));

    public Task<IReadOnlyList<LedgerEntry>> DueMessagesAsync(string account, string folder, DateTimeOffset now, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.DueMessagesAsync(account, folder, now, cancellationToken));

    public Task RecordAsync(LedgerEntry entry, IReadOnlyList<SideEffect> plan, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.RecordAsync(entry, plan, cancellationToken));

    public Task<IReadOnlyList<LedgerEntry>> AnalysedMessagesAsync(LedgerQuery query, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.AnalysedMessagesAsync(query, cancellationToken));

    public Task<IReadOnlyList<LedgerEntry>> ListMessagesAsync(LedgerPageQuery query, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.ListMessagesAsync(query, cancellationToken));

    public Task RecordAnalysisAsync(LedgerEntry entry, MessageAnalysis analysis, IReadOnlyList<SideEffect> plan, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.RecordAnalysisAsync(entry, analysis, plan, cancellationToken));

    public Task RecordDoneAnalysesAsync(IReadOnlyList<DoneAnalysis> analyses, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.RecordDoneAnalysesAsync(analyses, cancellationToken));

    public Task<IReadOnlyList<MessageAnalysis>> AnalysesAsync(string account, string folder, string sourceKey, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.AnalysesAsync(account, folder, sourceKey, cancellationToken));

    public Task RecordMoveAsync(SideEffect effect, MessageLocation location, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.RecordMoveAsync(effect, location, cancellationToken));

    public Task UpdateMessageAsync(LedgerEntry entry, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.UpdateMessageAsync(entry, cancellationToken));

    public Task<IReadOnlyList<SideEffect>> SideEffectsAsync(string account, string folder, string sourceKey, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.SideEffectsAsync(account, folder, sourceKey, cancellationToken));

    public Task UpdateSideEffectAsync(SideEffect effect, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.UpdateSideEffectAsync(effect, cancellationToken));

    public Task<IReadOnlyDictionary<MessageState, int>> CountMessagesAsync(string account, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.CountMessagesAsync(account, cancellationToken));

    public Task<OutboxEntry?> FindOutboxAsync(string account, string fileName, string contentHash, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.FindOutboxAsync(account, fileName, contentHash, cancellationToken));

    public Task SaveOutboxAsync(OutboxEntry entry, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.SaveOutboxAsync(entry, cancellationToken));

    public Task<IReadOnlyList<OutboxCount>> CountOutboxAsync(CancellationToken cancellationToken) =>
        TimeAsync(() => inner.CountOutboxAsync(cancellationToken));

    public Task<IReadOnlyList<OutboxEntry>> ListOutboxAsync(string? account, OutboxState? state, int limit, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.ListOutboxAsync(account, state, limit, cancellationToken));

    public Task<IReadOnlyList<OutboxEntry>> FindOutboxByFileAsync(string? account, string fileName, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.FindOutboxByFileAsync(account, fileName, cancellationToken));

    public Task<IReadOnlyList<OutboxEntry>> FindOutboxByContentAsync(string account, string contentHash, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.FindOutboxByContentAsync(account, contentHash, cancellationToken));

    /// <summary>Leaves the inner store open: its owner (the host runtime) disposes it.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task TimeAsync(Func<Task> call)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            await call();
        }
        finally
        {
            Interlocked.Add(ref _ticks, Stopwatch.GetTimestamp() - start);
            Calls++;
        }
    }

    private async Task<T> TimeAsync<T>(Func<Task<T>> call)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            return await call();
        }
        finally
        {
            Interlocked.Add(ref _ticks, Stopwatch.GetTimestamp() - start);
            Calls++;
        }
    }
}
