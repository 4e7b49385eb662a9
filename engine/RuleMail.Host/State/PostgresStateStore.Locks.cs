using Npgsql;

namespace RuleMail.Host.State;

// Named locks across the nodes: a transaction-scoped advisory lock on a pooled connection of its own.
internal sealed partial class PostgresStateStore : ISharedLocks
{
    /// <inheritdoc />
    /// <remarks>
    /// The name is hashed to the advisory lock's 64-bit key by the server (<c>hashtextextended</c>); two names that share
    /// a key only make their holders take turns. The lock is scoped to a transaction that writes nothing, so it goes
    /// with the session whatever happens to the holder (a crash, a kill, a network cut).
    /// </remarks>
    public async Task<IAsyncDisposable> LockAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        ThrowIfDisposed();
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended(@name, 0));", connection, transaction))
            {
                command.Parameters.AddWithValue("name", name);
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            return new HeldLock(connection, transaction);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private sealed class HeldLock(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                // The session ended already (held past the idle limit, the server restarted): the lock went with it.
            }
            finally
            {
                await transaction.DisposeAsync().ConfigureAwait(false);
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
