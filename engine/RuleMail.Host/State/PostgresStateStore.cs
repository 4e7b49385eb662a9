using System.Data;
using Npgsql;

namespace RuleMail.Host.State;

/// <summary>
/// The clustered state store: one PostgreSQL database that every node of a scale-out uses at once, through a pooled
/// <see cref="NpgsqlDataSource"/>. The same contract as <see cref="SqliteStateStore"/>, row for row.
/// </summary>
/// <remarks>
/// Its jobs are split by file as SQLite's are: opening, the schema and the write transaction here; the ledger and
/// analyses (<c>.Ledger.cs</c>, <c>.Listing.cs</c>), side effects and moves (<c>.SideEffects.cs</c>), the outbox
/// (<c>.Outbox.cs</c>), IMAP cursors (<c>.Cursors.cs</c>) and the HTTP API's tokens (<c>.Tokens.cs</c>).
/// Thread-safe: each call takes a pooled connection of its own, and every write is one transaction
/// (<see cref="WriteAsync{T}"/>). Several processes may use the database at once: inserts are upserts or
/// <c>ON CONFLICT DO NOTHING</c>, and an analysis version is guarded by a row lock and the analysis table's key, so
/// two nodes judging one message cannot both record version N. Times are <c>bigint</c> UTC ticks, so an instant is
/// kept to the tick as SQLite keeps it (<see cref="PostgresSchema"/>).
/// </remarks>
internal sealed partial class PostgresStateStore : IStateStore, IFencedStateStore
{
    private readonly NpgsqlDataSource _dataSource;

    /// <summary>What every write of this view must still hold (<see cref="Fenced"/>); null for the store itself.</summary>
    private readonly Cluster.ClusterFence? _fence;

    /// <summary>The store whose data source this fenced view shares (and does not dispose); null for the store itself.</summary>
    private readonly PostgresStateStore? _owner;
    private int _disposed;

    private PostgresStateStore(NpgsqlDataSource dataSource, string name, Cluster.ClusterFence? fence = null, PostgresStateStore? owner = null)
    {
        _dataSource = dataSource;
        Name = name;
        _fence = fence;
        _owner = owner;
    }

    /// <summary>The database as errors name it: host, port and database (never the password).</summary>
    public string Name { get; }

    /// <summary>Connects (a pool of connections to <paramref name="connectionString"/>) and creates or upgrades the schema.</summary>
    /// <exception cref="InvalidOperationException">The database's schema is newer than this build knows.</exception>
    /// <exception cref="NpgsqlException">The server cannot be reached or refuses the login.</exception>
    public static async Task<PostgresStateStore> OpenAsync(string connectionString, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        var name = $"PostgreSQL database {settings.Database ?? settings.Username} at {settings.Host}:{settings.Port}";
        var store = new PostgresStateStore(new NpgsqlDataSourceBuilder(connectionString).Build(), name);
        try
        {
            await store.InitializeAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return store;
    }

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        return PostgresSchema.ApplyAsync(_dataSource, Name, cancellationToken);
    }

    /// <summary>A no-op: there is no high-water mark to advance.</summary>
    /// <remarks>
    /// SQLite's mark (<see cref="StateIdentity"/>) guards one host against its file being swapped for an older copy
    /// (a restored backup, a lost <c>-wal</c>), which would make it run side effects again. A commit on the server is
    /// already durable when it returns, and the database is shared by every node, not a file one host could be handed
    /// an older copy of: restoring a server backup is an operator's act on the whole cluster, and what keeps a late
    /// node from acting twice is the cluster's fencing (issue 14), checked in <see cref="WriteAsync{T}"/>.
    /// </remarks>
    /// <para>
    /// On a fenced view (<see cref="Fenced"/>) it checks the fence instead: the pipeline seals before every call that
    /// leaves the host, so a node whose lease or claim was taken over stops before it calls a webhook again.
    /// </para>
    public Task SealAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        var fence = _fence;
        return fence is null ? Task.CompletedTask : ReadAsync(async connection =>
        {
            // A read: nothing is written here, so the row need not be locked, and the check costs no commit to disk.
            await fence.CheckAsync(connection, null, cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public IStateStore Fenced(Cluster.ClusterFence fence)
    {
        ArgumentNullException.ThrowIfNull(fence);
        ThrowIfDisposed();
        return new PostgresStateStore(_dataSource, Name, fence, _owner ?? this);
    }

    /// <summary>Closes every pooled connection; calls after it throw <see cref="ObjectDisposedException"/>. A fenced view closes nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && _owner is null)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void ThrowIfDisposed() =>
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0 || (_owner is not null && Volatile.Read(ref _owner._disposed) != 0), this);

    /// <summary>
    /// Runs <paramref name="work"/> in one read-committed transaction on a pooled connection and commits it; an
    /// exception rolls everything back. Every write of the store goes through here (the schema's migrations alone do
    /// not: <see cref="PostgresSchema.ApplyAsync"/>).
    /// </summary>
    private async Task<T> WriteAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);

        // A fenced view writes only while its lease or claim holds; the check locks that row until the commit, so a
        // takeover (which updates it) waits for this write, and every write after the takeover is refused.
        if (_fence is not null)
        {
            await _fence.CheckAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        }

        var result = await work(connection, transaction).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    private Task WriteAsync(Func<NpgsqlConnection, NpgsqlTransaction, Task> work, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            await work(connection, transaction).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    /// <summary>Runs one read (a single statement, so it sees one snapshot) on a pooled connection.</summary>
    private async Task<T> ReadAsync<T>(Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await work(connection).ConfigureAwait(false);
    }

    /// <summary>Reads every row of one query with <paramref name="read"/>.</summary>
    private Task<IReadOnlyList<T>> ReadListAsync<T>(
        string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        ReadAsync(async connection =>
        {
            await using var command = Command(connection, null, sql, parameters);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var rows = new List<T>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.Add(read(reader));
            }

            return (IReadOnlyList<T>)rows;
        }, cancellationToken);

    /// <summary>A command with its parameters (<c>@name</c> in the SQL; null is SQL NULL).</summary>
    private static NpgsqlCommand Command(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter(name, value ?? DBNull.Value));
        }

        return command;
    }

    private static async Task<int> ExecuteAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken,
        params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An instant as stored: UTC ticks (see <see cref="PostgresSchema"/>).</summary>
    private static long Ticks(DateTimeOffset time) => time.UtcTicks;

    private static long? Ticks(DateTimeOffset? time) => time?.UtcTicks;

    private static DateTimeOffset ReadTime(NpgsqlDataReader reader, int ordinal) => new(reader.GetInt64(ordinal), TimeSpan.Zero);

    private static DateTimeOffset? ReadNullableTime(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : ReadTime(reader, ordinal);

    private static string? ReadString(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static uint ReadUInt(NpgsqlDataReader reader, int ordinal) => checked((uint)reader.GetInt64(ordinal));

    private static uint? ReadNullableUInt(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : ReadUInt(reader, ordinal);
}
