namespace RuleMail.Host.State;

/// <summary>
/// A state store that several hosts use at once (PostgreSQL), with named locks that hold across all of them. SQLite has
/// no such thing and needs none: its one-host lock keeps a second host away, so a lock within the process is enough.
/// </summary>
internal interface ISharedLocks
{
    /// <summary>
    /// Waits until no other host or caller holds the lock <paramref name="name"/>, then holds it until the result is
    /// disposed. Meant for a short critical section: a holder that sits longer than a lease time loses it (the server
    /// ends a session idle in a transaction that long), as a paused node loses its row locks.
    /// </summary>
    Task<IAsyncDisposable> LockAsync(string name, CancellationToken cancellationToken);
}
