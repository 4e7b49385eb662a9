using System.Data;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace RuleMail.Host.State;

/// <summary>
/// The embedded state store: one SQLite file in WAL mode with <c>synchronous=FULL</c>, so a commit survives
/// a crash or power loss the moment <see cref="RecordAsync"/> returns.
/// </summary>
/// <remarks>
/// Its jobs are split by file: opening and the schema here; the ledger and analyses (<c>.Ledger.cs</c>), side
/// effects and moves (<c>.SideEffects.cs</c>), the outbox (<c>.Outbox.cs</c>), IMAP cursors (<c>.Cursors.cs</c>) and the
/// HTTP API's tokens (<c>.Tokens.cs</c>).
/// One connection per instance; calls are serialized, so one instance may be shared by concurrent jobs (the HTTP API's
/// per-request token lookup alone reads on a second connection: <see cref="SqliteTokenReader"/>).
/// Several instances or processes may open the same file: SQLite's file locks and the busy timeout make
/// writers wait for each other. Times are kept as ISO-8601 UTC text, enums as their lowercase names
/// (<see cref="SqliteSchema"/>).
/// </remarks>
internal sealed partial class SqliteStateStore : IStateStore
{
    /// <summary>How long a statement waits for another connection's write lock before failing.</summary>
    private const int BusyTimeoutMilliseconds = 5000;

    /// <summary>Source keys per <c>IN (…)</c> query, well below SQLite's bound-parameter limit.</summary>
    private const int KeysPerQuery = 500;

    private readonly SqliteConnection _connection;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _disposed;

    /// <summary>The one-host lock: flock on the database file itself, held until after SQLite closed it.</summary>
    private FileStream? _hostLock;

    /// <summary>Set while opening a state known to hold a ledger: a database without the schema is then refused.</summary>
    private bool _mustHaveSchema;

    /// <summary>The identity and high-water mark beside the file (exclusive opens only).</summary>
    private StateIdentity? _identity;

    private SqliteStateStore(SqliteConnection connection, string path)
    {
        _connection = connection;
        Path = path;
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>
    /// Opens (or creates, with its folder) the database at <paramref name="path"/>, configures the connection
    /// and creates or checks the schema.
    /// </summary>
    /// <exception cref="InvalidOperationException">The file was written by a newer version, or cannot use WAL.</exception>
    public static Task<SqliteStateStore> OpenAsync(string path, CancellationToken ct) => OpenAsync(path, mustHaveSchema: false, ct);

    /// <param name="mustHaveSchema">Refuse a database without RuleMail's schema rather than create it (it was known to hold a ledger).</param>
    private static async Task<SqliteStateStore> OpenAsync(string path, bool mustHaveSchema, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = System.IO.Path.GetFullPath(path);
        var directory = System.IO.Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = fullPath,
            Mode = SqliteOpenMode.ReadWriteCreate,

            // Disposing the store must really close the file, not park the connection in a pool.
            Pooling = false,
            DefaultTimeout = 30,
        };
        var connection = new SqliteConnection(builder.ToString());
        try
        {
            await connection.OpenAsync(ct).ConfigureAwait(false);

            // The busy timeout first: switching to WAL itself may have to wait for another process.
            await ExecuteAsync(
                connection, $"PRAGMA busy_timeout = {BusyTimeoutMilliseconds.ToString(CultureInfo.InvariantCulture)};", ct)
                .ConfigureAwait(false);
            var mode = await ScalarAsync(connection, "PRAGMA journal_mode = WAL;", ct).ConfigureAwait(false);
            if (!string.Equals(mode as string, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"{fullPath}: SQLite cannot use WAL journal mode here (got '{mode}')");
            }

            await ExecuteAsync(connection, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", ct).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var store = new SqliteStateStore(connection, fullPath) { _mustHaveSchema = mustHaveSchema };
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

    /// <summary>
    /// Opens the state for the one host that may use it, and refuses a state that would make it run side effects
    /// again: the database file is locked by its identity (<c>flock</c> on the file itself, so another path or a
    /// hard link to it is refused too), and it must match <c>STATE.id</c> beside it (<see cref="StateIdentity"/>):
    /// not missing or empty, not another store, not behind the high-water mark. Without an identity file (a new
    /// state, or one from before it existed) the database is adopted and the file written.
    /// </summary>
    /// <exception cref="StateInUseException">Another process holds the state; one line that says what to do.</exception>
    /// <exception cref="RuleMailException">The state is refused; one line that says what to do.</exception>
    public static async Task<SqliteStateStore> OpenExclusiveAsync(string path, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = System.IO.Path.GetFullPath(path);
        var identityPath = StateIdentity.PathFor(fullPath);
        var known = StateIdentity.Read(identityPath);
        var database = new FileInfo(fullPath);

        // Checked before anything opens the file (stat only: SQLite's POSIX locks die with any descriptor of it).
        if (known is { } expected && (!database.Exists || database.Length == 0))
        {
            throw new RuleMailException(
                $"{fullPath}: the state database is {(database.Exists ? "empty" : "missing")}, but {identityPath} records a ledger of {expected.HighWater} writes: "
                + $"restore {fullPath} from a backup, or remove {identityPath} to start a new state (every message still in the mailboxes is then processed again)");
        }

        var hostLock = LockDatabase(fullPath);
        SqliteStateStore? store = null;
        try
        {
            store = await OpenAsync(fullPath, mustHaveSchema: known is not null, ct).ConfigureAwait(false);
            var (storeId, sequence) = await store.MetaAsync(ct).ConfigureAwait(false);
            if (known is { } mark)
            {
                if (!string.Equals(mark.StoreId, storeId, StringComparison.Ordinal))
                {
                    throw new RuleMailException(
                        $"{fullPath}: this is not the state database {identityPath} belongs to (store {storeId}, expected {mark.StoreId}): "
                        + $"put the right file back, or remove {identityPath} to adopt this one");
                }

                if (sequence < mark.HighWater)
                {
                    throw new RuleMailException(
                        $"{fullPath}: the state database has lost committed writes (it is at write {sequence}, {identityPath} recorded {mark.HighWater}: "
                        + $"a damaged {fullPath}-wal, or an older copy); restore it from a backup, or remove {identityPath} to accept it as it is "
                        + "(messages whose record was lost are then processed again)");
                }
            }

            store._identity = StateIdentity.Create(identityPath, storeId, Math.Max(sequence, known?.HighWater ?? 0));
            store._hostLock = hostLock;
            return store;
        }
        catch
        {
            if (store is not null)
            {
                await store.DisposeAsync().ConfigureAwait(false);
            }

            await hostLock.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Advances the high-water mark to everything committed so far, durably; a no-op when nothing was written
    /// since, or when the store was not opened with <see cref="OpenExclusiveAsync"/>.
    /// </summary>
    public async Task SealAsync(CancellationToken cancellationToken)
    {
        if (_identity is null)
        {
            return;
        }

        await Gated(async () =>
        {
            var (_, sequence) = await MetaAsync(cancellationToken).ConfigureAwait(false);
            _identity.Advance(sequence);
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<(string StoreId, long Sequence)> MetaAsync(CancellationToken cancellationToken)
    {
        await using var command = Command("SELECT store_id, seq FROM store_meta WHERE id = 1;");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? (reader.GetString(0), reader.GetInt64(1))
            : throw new InvalidOperationException($"{Path}: the state database has no store_meta row");
    }

    /// <summary>
    /// flock(LOCK_EX) on the database file (what .NET does for <see cref="FileShare.None"/> on Unix): by the file,
    /// not its name, and released by the kernel when the process dies. It does not touch SQLite's own POSIX locks;
    /// this descriptor stays open until SQLite has closed the file, since closing any descriptor of the file would
    /// drop SQLite's locks.
    /// </summary>
    private static FileStream LockDatabase(string path)
    {
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None, BufferSize = 0 };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            var directory = System.IO.Path.GetDirectoryName(path);
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            var locked = new FileStream(path, options);
            if (FileLinks.Count(locked.SafeFileHandle) is > 1 and var names)
            {
                // SQLite keeps its -wal and -shm beside each name: a second name of a state that a killed host left with its
                // -wal would not see the last writes (and the first name's -wal would later overwrite the second's pages).
                locked.Dispose();
                throw new RuleMailException(
                    $"{path}: the state database has {names} names (hard links), and SQLite keeps its write-ahead log beside each name; remove the other names (find / -xdev -samefile {path}) and give the state one path");
            }

            return locked;
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new StateInUseException(
                $"{path}: another rulemail run is using this state database (under this or another name, such as a hard link); stop it first, or give this one its own state", e)
            {
                Path = path,
            };
        }
        catch (UnauthorizedAccessException e)
        {
            throw new RuleMailException($"{path}: cannot open the state database ({e.Message.TrimEnd('.')}); give the user running rulemail access to it", e);
        }
    }

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await Gated(async () =>
        {
            // BEGIN IMMEDIATE: two processes starting together create the schema once, one after the other.
            await using var transaction = Begin();
            var version = Convert.ToInt32(
                await ScalarAsync(_connection, "PRAGMA user_version;", cancellationToken, transaction).ConfigureAwait(false),
                CultureInfo.InvariantCulture);
            if (version > SqliteSchema.Version)
            {
                throw new InvalidOperationException(
                    $"{Path}: the state database has schema version {version}; this build knows up to {SqliteSchema.Version}");
            }

            if (version < 1 && _mustHaveSchema)
            {
                // What SQLite shows when every frame of the -wal was dropped, or the file was swapped for a blank one.
                var identity = StateIdentity.PathFor(Path);
                throw new RuleMailException(
                    $"{Path}: the state database is empty, but {identity} records a ledger: "
                    + $"restore {Path} (with {Path}-wal) from a backup, or remove {identity} to start a new state (every message still in the mailboxes is then processed again)");
            }

            if (version < 1)
            {
                await ExecuteAsync(_connection, SqliteSchema.CreateVersion1, cancellationToken, transaction).ConfigureAwait(false);
            }

            if (version < 2)
            {
                await ExecuteAsync(_connection, SqliteSchema.UpgradeToVersion2, cancellationToken, transaction).ConfigureAwait(false);
            }

            if (version < 3)
            {
                await ExecuteAsync(_connection, SqliteSchema.UpgradeToVersion3, cancellationToken, transaction).ConfigureAwait(false);
            }

            if (version < 4)
            {
                await ExecuteAsync(_connection, SqliteSchema.UpgradeToVersion4, cancellationToken, transaction).ConfigureAwait(false);
            }

            if (version < 5)
            {
                await ExecuteAsync(_connection, SqliteSchema.UpgradeToVersion5, cancellationToken, transaction).ConfigureAwait(false);
            }

            if (version < SqliteSchema.Version)
            {
                // In the same transaction as the upgrade: a crash leaves the old version whole, never half of the new one.
                await ExecuteAsync(
                    _connection,
                    $"PRAGMA user_version = {SqliteSchema.Version.ToString(CultureInfo.InvariantCulture)};",
                    cancellationToken,
                    transaction).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }


    /// <summary>Waits for the call in progress, then closes the database.</summary>
    public async ValueTask DisposeAsync()
    {
        // The gate itself is not disposed: a call racing the dispose then fails with ObjectDisposedException
        // from ThrowIfDisposed instead of waiting forever on a disposed semaphore.
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_identity is not null)
            {
                try
                {
                    // The writes since the last side effect (their "done" records) are covered too.
                    _identity.Advance((await MetaAsync(CancellationToken.None).ConfigureAwait(false)).Sequence);
                }
                finally
                {
                    _identity.Dispose();
                }
            }

            CloseTokenReader();
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            // Only now that SQLite has closed the file (see LockDatabase).
            if (_hostLock is not null)
            {
                await _hostLock.DisposeAsync().ConfigureAwait(false);
            }

            _gate.Release();
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Runs one call alone on the connection (one caller at a time), refusing after dispose.</summary>
    private async Task<T> Gated<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            return await call().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private Task Gated(Func<Task> call, CancellationToken cancellationToken) =>
        Gated(async () =>
        {
            await call().ConfigureAwait(false);
            return true;
        }, cancellationToken);

    /// <summary>BEGIN IMMEDIATE (takes the write lock up front, so the busy timeout applies), or BEGIN for reads.</summary>
    /// <remarks>Microsoft.Data.Sqlite has no asynchronous overload taking <c>deferred</c>; BEGIN does no I/O anyway.</remarks>
    private SqliteTransaction Begin(bool deferred = false) => _connection.BeginTransaction(IsolationLevel.Serializable, deferred);

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    private static async Task ExecuteAsync(
        SqliteConnection connection, string sql, CancellationToken cancellationToken, SqliteTransaction? transaction = null)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<object?> ScalarAsync(
        SqliteConnection connection, string sql, CancellationToken cancellationToken, SqliteTransaction? transaction = null)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }
}
