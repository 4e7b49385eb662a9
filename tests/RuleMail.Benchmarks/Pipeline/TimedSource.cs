using System.Diagnostics;
using RuleMail.Host.Transport;
using RuleMail.Host.State;

namespace RuleMail.Benchmarks.Pipeline;

/// <summary>
/// A mail source that adds up the wall time spent in it (IMAP round trips and writing the spool file), without the
/// time its calls spend in the state store (the folder cursor), which <paramref name="ledger"/> counts.
/// </summary>
internal sealed class TimedSource(IMailSource inner, TimedState ledger) : IMailSource
{
    private long _ticks;

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(0, _ticks);

    public string Folder => inner.Folder;

    public bool FetchesByKey => inner.FetchesByKey;

    public Task ConnectAsync(CancellationToken cancellationToken) => TimeAsync(() => inner.ConnectAsync(cancellationToken));

    public Task<IReadOnlyList<SourceMessage>> ListAsync(IStateStore state, DateTimeOffset now, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.ListAsync(state, now, cancellationToken));

    public Task<bool> CopyToAsync(SourceMessage message, Stream destination, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.CopyToAsync(message, destination, cancellationToken));

    public Task RecordedAsync(SourceMessage message, IStateStore state, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.RecordedAsync(message, state, cancellationToken));

    public Task<SourceActionResult> AddKeywordAsync(SourceMessage message, string keyword, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.AddKeywordAsync(message, keyword, cancellationToken));

    public Task<SourceActionResult> MoveAsync(SourceMessage message, string folder, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.MoveAsync(message, folder, cancellationToken));

    public Task<bool> CopyToAsync(MessageLocation location, Stream destination, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.CopyToAsync(location, destination, cancellationToken));

    public Task<IReadOnlyList<MessageLocation>> FindAsync(string folder, string messageId, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.FindAsync(folder, messageId, cancellationToken));

    public Task<SourceActionResult> AddKeywordAsync(MessageLocation location, string keyword, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.AddKeywordAsync(location, keyword, cancellationToken));

    public Task<SourceActionResult> RemoveKeywordAsync(MessageLocation location, string keyword, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.RemoveKeywordAsync(location, keyword, cancellationToken));

    public Task<SourceActionResult> MoveAsync(MessageLocation location, string folder, CancellationToken cancellationToken) =>
        TimeAsync(() => inner.MoveAsync(location, folder, cancellationToken));

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    private async Task TimeAsync(Func<Task> call)
    {
        var start = Stopwatch.GetTimestamp();
        var nested = ledger.Ticks;
        try
        {
            await call();
        }
        finally
        {
            _ticks += Stopwatch.GetTimestamp() - start - (ledger.Ticks - nested);
        }
    }

    private async Task<T> TimeAsync<T>(Func<Task<T>> call)
    {
        var start = Stopwatch.GetTimestamp();
        var nested = ledger.Ticks;
        try
        {
            return await call();
        }
        finally
        {
            _ticks += Stopwatch.GetTimestamp() - start - (ledger.Ticks - nested);
        }
    }
}
