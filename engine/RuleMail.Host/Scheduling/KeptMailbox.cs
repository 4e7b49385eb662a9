using RuleMail.Host.Transport;

namespace RuleMail.Host.Scheduling;

/// <summary>
/// A cluster worker's mailbox connection, kept from one batch of claims to the next while the queue has work for the
/// same account, so a busy worker logs in once rather than once per batch (each IMAP login costs the server a process
/// and an authentication). The worker closes it when the queue runs dry; it is not handed out again for another
/// account or another configuration (a reload makes new runners), nor once the server has dropped it, and a batch that
/// fails with it closes it. Used by one worker at a time.
/// </summary>
internal sealed class KeptMailbox : IAsyncDisposable
{
    private AccountRunner? _runner;
    private IMailSource? _source;
    private string? _description;

    /// <summary>
    /// The connected source kept for <paramref name="runner"/>, now the caller's (give it back with <see cref="Keep"/>
    /// or dispose it), brought up to date with its folder (<see cref="IMailSource.RefreshAsync"/>: it then sees what was
    /// delivered since its last batch); null when none is kept for it. One kept for another runner, or one the server
    /// no longer answers on, is closed.
    /// </summary>
    public async Task<(IMailSource Source, string Description)?> TakeAsync(AccountRunner runner, CancellationToken cancellationToken)
    {
        var (kept, source, description) = (_runner, _source, _description);
        (_runner, _source, _description) = (null, null, null);
        if (source is null)
        {
            return null;
        }

        bool usable;
        try
        {
            usable = ReferenceEquals(kept, runner) && await source.RefreshAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        if (!usable)
        {
            await source.DisposeAsync().ConfigureAwait(false);
            return null;
        }

        return (source, description!);
    }

    /// <summary>Keeps a connected source of <paramref name="runner"/> for the worker's next batch.</summary>
    public void Keep(AccountRunner runner, IMailSource source, string description)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(source);
        if (_source is not null)
        {
            throw new InvalidOperationException("a mailbox is already kept");
        }

        (_runner, _source, _description) = (runner, source, description);
    }

    /// <summary>Logs out of the kept mailbox, if any.</summary>
    public async ValueTask CloseAsync()
    {
        var source = _source;
        (_runner, _source, _description) = (null, null, null);
        if (source is not null)
        {
            await source.DisposeAsync().ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync() => CloseAsync();
}
