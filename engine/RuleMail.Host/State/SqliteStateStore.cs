using System.Collections.Frozen;
using System.Data;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace RuleMail.Host.State;

/// <summary>
/// The embedded state store: one SQLite file in WAL mode with <c>synchronous=FULL</c>, so a commit survives
/// a crash or power loss the moment <see cref="RecordAsync"/> returns.
/// </summary>
/// <remarks>
/// One connection per instance; calls are serialized, so one instance may be shared by concurrent jobs.
/// Several instances or processes may open the same file: SQLite's file locks and the busy timeout make
/// writers wait for each other. Times are kept as ISO-8601 UTC text, enums as their lowercase names
/// (<see cref="SqliteSchema"/>).
/// </remarks>
public sealed class SqliteStateStore : IStateStore
{
    /// <summary>How long a statement waits for another connection's write lock before failing.</summary>
    private const int BusyTimeoutMilliseconds = 5000;

    /// <summary>Source keys per <c>IN (…)</c> query, well below SQLite's bound-parameter limit.</summary>
    private const int KeysPerQuery = 500;

    private const string MessageColumns =
        "account, folder, source_key, uid_validity, uid, message_id, content_hash, state, attempts, next_attempt, error, "
        + "security_json, decision_json, tags, subject, sender, first_seen, updated_at";

    private const string SideEffectColumns =
        "idempotency_key, account, folder, source_key, ord, kind, target, payload, state, attempts, detail, updated_at, timeout_ms";

    private const string OutboxColumns =
        "account, file_name, content_hash, message_id, state, reason, attempts, next_attempt, updated_at";

    private readonly SqliteConnection _connection;
    private static readonly string[] SideEffectParameters =
    [
        "$idempotency_key", "$account", "$folder", "$source_key", "$ord", "$kind", "$target", "$payload", "$state",
        "$attempts", "$detail", "$updated_at", "$timeout_ms",
    ];

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
    /// <exception cref="RuleMailException">Another process holds the state, or the state is refused; one line that says what to do.</exception>
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
            throw new RuleMailException(
                $"{path}: another rulemail run is using this state database (under this or another name, such as a hard link); stop it first, or give this one its own state", e);
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
                await ExecuteAsync(
                    _connection,
                    $"PRAGMA user_version = {SqliteSchema.Version.ToString(CultureInfo.InvariantCulture)};",
                    cancellationToken,
                    transaction).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<FolderCursor?> GetCursorAsync(string account, string folder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(folder);
        return await Gated(async () =>
        {
            await using var command = Command(
                "SELECT uid_validity, last_uid FROM folder_cursor WHERE account = $account AND folder = $folder;",
                ("$account", account),
                ("$folder", folder));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            return new FolderCursor(account, folder, ReadUInt(reader, 0), ReadUInt(reader, 1));
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task SetCursorAsync(FolderCursor cursor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        await Gated(async () =>
        {
            await using var command = Command(
                """
                INSERT INTO folder_cursor (account, folder, uid_validity, last_uid)
                VALUES ($account, $folder, $uid_validity, $last_uid)
                ON CONFLICT (account, folder) DO UPDATE SET
                    uid_validity = excluded.uid_validity,
                    last_uid = excluded.last_uid;
                """,
                ("$account", cursor.Account),
                ("$folder", cursor.Folder),
                ("$uid_validity", (long)cursor.UidValidity),
                ("$last_uid", (long)cursor.LastUid));
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, LedgerEntry>> FindMessagesAsync(
        string account, string folder, IReadOnlyCollection<string> sourceKeys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(sourceKeys);
        var keys = sourceKeys.Distinct(StringComparer.Ordinal).ToArray();
        var found = new Dictionary<string, LedgerEntry>(StringComparer.Ordinal);
        if (keys.Length == 0)
        {
            return found;
        }

        return await Gated(async () =>
        {
            // One read transaction: every chunk sees the same snapshot, and it is faster than one per query.
            await using var transaction = Begin(deferred: true);
            foreach (var chunk in keys.Chunk(KeysPerQuery))
            {
                await using var command = _connection.CreateCommand();
                command.Transaction = transaction;
                command.Parameters.AddWithValue("$account", account);
                command.Parameters.AddWithValue("$folder", folder);
                var names = new string[chunk.Length];
                for (var i = 0; i < chunk.Length; i++)
                {
                    names[i] = "$k" + i.ToString(CultureInfo.InvariantCulture);
                    command.Parameters.AddWithValue(names[i], chunk[i]);
                }

                command.CommandText =
                    $"SELECT {MessageColumns} FROM message WHERE account = $account AND folder = $folder "
                    + $"AND source_key IN ({string.Join(", ", names)});";
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var entry = ReadEntry(reader);
                    found[entry.SourceKey] = entry;
                }
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return found;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<LedgerEntry?> FindByContentHashAsync(
        string account, string folder, string contentHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(contentHash);
        return await Gated(async () =>
        {
            // Several entries may share the hash (the same message twice); the first seen is the stable answer.
            await using var command = Command(
                $"""
                SELECT {MessageColumns} FROM message
                WHERE account = $account AND folder = $folder AND content_hash = $content_hash
                ORDER BY first_seen, source_key
                LIMIT 1;
                """,
                ("$account", account),
                ("$folder", folder),
                ("$content_hash", contentHash));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadEntry(reader) : null;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<LedgerEntry>> DueMessagesAsync(
        string account, string folder, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(folder);
        return await Gated(async () =>
        {
            await using var command = Command(
                $"""
                SELECT {MessageColumns} FROM message
                WHERE account = $account AND folder = $folder
                  AND state IN ($processing, $retry)
                  AND (next_attempt IS NULL OR next_attempt <= $now)
                ORDER BY uid, first_seen, source_key;
                """,
                ("$account", account),
                ("$folder", folder),
                ("$processing", EnumText<MessageState>.Write(MessageState.Processing)),
                ("$retry", EnumText<MessageState>.Write(MessageState.Retry)),
                ("$now", WriteTime(now)));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var due = new List<LedgerEntry>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                due.Add(ReadEntry(reader));
            }

            return due;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A side effect of the plan belongs to another message.</exception>
    public async Task RecordAsync(LedgerEntry entry, IReadOnlyList<SideEffect> plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(plan);
        foreach (var effect in plan)
        {
            if (!string.Equals(effect.Account, entry.Account, StringComparison.Ordinal)
                || !string.Equals(effect.Folder, entry.Folder, StringComparison.Ordinal)
                || !string.Equals(effect.SourceKey, entry.SourceKey, StringComparison.Ordinal))
            {
                throw new ArgumentException(
                    $"side effect {effect.IdempotencyKey} belongs to {effect.Account}/{effect.Folder}/{effect.SourceKey}, "
                    + $"not to {entry.Account}/{entry.Folder}/{entry.SourceKey}",
                    nameof(plan));
            }
        }

        await Gated(async () =>
        {
            // A known idempotency key keeps its row as it is: ON CONFLICT DO NOTHING rather than INSERT OR IGNORE,
            // which would also silently drop a side effect breaking a NOT NULL constraint instead of failing.
            await using var transaction = Begin();
            await using (var upsert = Command(
                $"""
                INSERT INTO message ({MessageColumns})
                VALUES ($account, $folder, $source_key, $uid_validity, $uid, $message_id, $content_hash, $state, $attempts,
                        $next_attempt, $error, $security_json, $decision_json, $tags, $subject, $sender, $first_seen, $updated_at)
                ON CONFLICT (account, folder, source_key) DO UPDATE SET
                    uid_validity = excluded.uid_validity,
                    uid = excluded.uid,
                    message_id = excluded.message_id,
                    content_hash = excluded.content_hash,
                    state = excluded.state,
                    attempts = excluded.attempts,
                    next_attempt = excluded.next_attempt,
                    error = excluded.error,
                    security_json = excluded.security_json,
                    decision_json = excluded.decision_json,
                    tags = excluded.tags,
                    subject = excluded.subject,
                    sender = excluded.sender,
                    updated_at = excluded.updated_at;
                """,
                ("$account", entry.Account),
                ("$folder", entry.Folder),
                ("$source_key", entry.SourceKey),
                ("$uid_validity", (long?)entry.UidValidity),
                ("$uid", (long?)entry.Uid),
                ("$message_id", entry.MessageId),
                ("$content_hash", entry.ContentHash),
                ("$state", EnumText<MessageState>.Write(entry.State)),
                ("$attempts", entry.Attempts),
                ("$next_attempt", WriteTime(entry.NextAttempt)),
                ("$error", entry.Error),
                ("$security_json", entry.SecurityJson),
                ("$decision_json", entry.DecisionJson),
                ("$tags", JsonSerializer.Serialize(entry.Tags ?? [])),
                ("$subject", entry.Subject),
                ("$sender", entry.From),
                ("$first_seen", WriteTime(entry.FirstSeen)),
                ("$updated_at", WriteTime(entry.UpdatedAt))))
            {
                upsert.Transaction = transaction;
                await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            if (plan.Count > 0)
            {
                await using var insert = Command(
                    $"""
                    INSERT INTO side_effect ({SideEffectColumns})
                    VALUES ($idempotency_key, $account, $folder, $source_key, $ord, $kind, $target, $payload, $state, $attempts,
                            $detail, $updated_at, $timeout_ms)
                    ON CONFLICT (idempotency_key) DO NOTHING;
                    """);
                insert.Transaction = transaction;
                var parameters = insert.Parameters;
                foreach (var name in SideEffectParameters)
                {
                    parameters.Add(new SqliteParameter { ParameterName = name });
                }

                foreach (var effect in plan)
                {
                    parameters["$idempotency_key"].Value = (object?)effect.IdempotencyKey ?? DBNull.Value;
                    parameters["$account"].Value = (object?)effect.Account ?? DBNull.Value;
                    parameters["$folder"].Value = (object?)effect.Folder ?? DBNull.Value;
                    parameters["$source_key"].Value = (object?)effect.SourceKey ?? DBNull.Value;
                    parameters["$ord"].Value = effect.Order;
                    parameters["$kind"].Value = EnumText<SideEffectKind>.Write(effect.Kind);
                    parameters["$target"].Value = (object?)effect.Target ?? DBNull.Value;
                    parameters["$payload"].Value = (object?)effect.Payload ?? DBNull.Value;
                    parameters["$state"].Value = EnumText<SideEffectState>.Write(effect.State);
                    parameters["$attempts"].Value = effect.Attempts;
                    parameters["$detail"].Value = (object?)effect.Detail ?? DBNull.Value;
                    parameters["$updated_at"].Value = WriteTime(effect.UpdatedAt);
                    parameters["$timeout_ms"].Value = effect.Timeout is { } timeout ? (long)timeout.TotalMilliseconds : DBNull.Value;
                    await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>Also sets the entry's <c>updated_at</c>; the other columns are left as recorded.</remarks>
    /// <exception cref="InvalidOperationException">No entry has this account, folder and source key.</exception>
    public async Task UpdateMessageAsync(LedgerEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await Gated(async () =>
        {
            await using var command = Command(
                """
                UPDATE message SET
                    state = $state,
                    attempts = $attempts,
                    next_attempt = $next_attempt,
                    error = $error,
                    updated_at = $updated_at
                WHERE account = $account AND folder = $folder AND source_key = $source_key;
                """,
                ("$state", EnumText<MessageState>.Write(entry.State)),
                ("$attempts", entry.Attempts),
                ("$next_attempt", WriteTime(entry.NextAttempt)),
                ("$error", entry.Error),
                ("$updated_at", WriteTime(entry.UpdatedAt)),
                ("$account", entry.Account),
                ("$folder", entry.Folder),
                ("$source_key", entry.SourceKey));
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                throw new InvalidOperationException(
                    $"no ledger entry {entry.Account}/{entry.Folder}/{entry.SourceKey} to update");
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SideEffect>> SideEffectsAsync(
        string account, string folder, string sourceKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(sourceKey);
        return await Gated(async () =>
        {
            await using var command = Command(
                $"""
                SELECT {SideEffectColumns} FROM side_effect
                WHERE account = $account AND folder = $folder AND source_key = $source_key
                ORDER BY ord, idempotency_key;
                """,
                ("$account", account),
                ("$folder", folder),
                ("$source_key", sourceKey));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var effects = new List<SideEffect>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                effects.Add(new SideEffect
                {
                    IdempotencyKey = reader.GetString(0),
                    Account = reader.GetString(1),
                    Folder = reader.GetString(2),
                    SourceKey = reader.GetString(3),
                    Order = reader.GetInt32(4),
                    Kind = EnumText<SideEffectKind>.Read(reader.GetString(5)),
                    Target = reader.GetString(6),
                    Payload = ReadString(reader, 7),
                    State = EnumText<SideEffectState>.Read(reader.GetString(8)),
                    Attempts = reader.GetInt32(9),
                    Detail = ReadString(reader, 10),
                    UpdatedAt = ReadTime(reader.GetString(11)),
                    Timeout = reader.IsDBNull(12) ? null : TimeSpan.FromMilliseconds(reader.GetInt64(12)),
                });
            }

            return effects;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>Also sets the side effect's <c>updated_at</c>; the plan's other columns never change.</remarks>
    /// <exception cref="InvalidOperationException">No side effect has this idempotency key.</exception>
    public async Task UpdateSideEffectAsync(SideEffect effect, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(effect);
        await Gated(async () =>
        {
            await using var command = Command(
                """
                UPDATE side_effect SET
                    state = $state,
                    attempts = $attempts,
                    detail = $detail,
                    updated_at = $updated_at
                WHERE idempotency_key = $idempotency_key;
                """,
                ("$state", EnumText<SideEffectState>.Write(effect.State)),
                ("$attempts", effect.Attempts),
                ("$detail", effect.Detail),
                ("$updated_at", WriteTime(effect.UpdatedAt)),
                ("$idempotency_key", effect.IdempotencyKey));
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                throw new InvalidOperationException($"no side effect {effect.IdempotencyKey} to update");
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<MessageState, int>> CountMessagesAsync(string account, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        var counts = Enum.GetValues<MessageState>().ToDictionary(state => state, _ => 0);
        return await Gated(async () =>
        {
            await using var command = Command(
                "SELECT state, COUNT(*) FROM message WHERE account = $account GROUP BY state;",
                ("$account", account));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                counts[EnumText<MessageState>.Read(reader.GetString(0))] = reader.GetInt32(1);
            }

            return counts;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<OutboxEntry?> FindOutboxAsync(
        string account, string fileName, string contentHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentNullException.ThrowIfNull(contentHash);
        return await Gated(async () =>
        {
            await using var command = Command(
                $"""
                SELECT {OutboxColumns} FROM outbox
                WHERE account = $account AND file_name = $file_name AND content_hash = $content_hash;
                """,
                ("$account", account),
                ("$file_name", fileName),
                ("$content_hash", contentHash));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            return new OutboxEntry
            {
                Account = reader.GetString(0),
                FileName = reader.GetString(1),
                ContentHash = reader.GetString(2),
                MessageId = ReadString(reader, 3),
                State = EnumText<OutboxState>.Read(reader.GetString(4)),
                Reason = ReadString(reader, 5),
                Attempts = reader.GetInt32(6),
                NextAttempt = ReadNullableTime(reader, 7),
                UpdatedAt = ReadTime(reader.GetString(8)),
            };
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task SaveOutboxAsync(OutboxEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await Gated(async () =>
        {
            await using var command = Command(
                $"""
                INSERT INTO outbox ({OutboxColumns})
                VALUES ($account, $file_name, $content_hash, $message_id, $state, $reason, $attempts, $next_attempt, $updated_at)
                ON CONFLICT (account, file_name, content_hash) DO UPDATE SET
                    message_id = excluded.message_id,
                    state = excluded.state,
                    reason = excluded.reason,
                    attempts = excluded.attempts,
                    next_attempt = excluded.next_attempt,
                    updated_at = excluded.updated_at;
                """,
                ("$account", entry.Account),
                ("$file_name", entry.FileName),
                ("$content_hash", entry.ContentHash),
                ("$message_id", entry.MessageId),
                ("$state", EnumText<OutboxState>.Write(entry.State)),
                ("$reason", entry.Reason),
                ("$attempts", entry.Attempts),
                ("$next_attempt", WriteTime(entry.NextAttempt)),
                ("$updated_at", WriteTime(entry.UpdatedAt)));
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
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

    /// <summary>Reads a row selected with <see cref="MessageColumns"/>.</summary>
    private static LedgerEntry ReadEntry(SqliteDataReader reader) => new()
    {
        Account = reader.GetString(0),
        Folder = reader.GetString(1),
        SourceKey = reader.GetString(2),
        UidValidity = reader.IsDBNull(3) ? null : ReadUInt(reader, 3),
        Uid = reader.IsDBNull(4) ? null : ReadUInt(reader, 4),
        MessageId = ReadString(reader, 5),
        ContentHash = reader.GetString(6),
        State = EnumText<MessageState>.Read(reader.GetString(7)),
        Attempts = reader.GetInt32(8),
        NextAttempt = ReadNullableTime(reader, 9),
        Error = ReadString(reader, 10),
        SecurityJson = ReadString(reader, 11),
        DecisionJson = ReadString(reader, 12),
        Tags = JsonSerializer.Deserialize<string[]>(reader.GetString(13)) ?? [],
        Subject = ReadString(reader, 14),
        From = ReadString(reader, 15),
        FirstSeen = ReadTime(reader.GetString(16)),
        UpdatedAt = ReadTime(reader.GetString(17)),
    };

    private static uint ReadUInt(SqliteDataReader reader, int ordinal) => checked((uint)reader.GetInt64(ordinal));

    private static string? ReadString(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static DateTimeOffset? ReadNullableTime(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : ReadTime(reader.GetString(ordinal));

    /// <summary>ISO-8601 in UTC with seven fractional digits: lossless, and text order is time order.</summary>
    private static string WriteTime(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private static string? WriteTime(DateTimeOffset? time) => time is { } value ? WriteTime(value) : null;

    private static DateTimeOffset ReadTime(string text) =>
        DateTimeOffset.ParseExact(text, "O", CultureInfo.InvariantCulture, DateTimeStyles.None);

    /// <summary>An enum's values as their lowercase names, both ways; an unknown name in the file is an error.</summary>
    private static class EnumText<T>
        where T : struct, Enum
    {
        private static readonly FrozenDictionary<T, string> Names =
            Enum.GetValues<T>().ToFrozenDictionary(value => value, value => value.ToString().ToLowerInvariant());

        private static readonly FrozenDictionary<string, T> Values =
            Names.ToFrozenDictionary(pair => pair.Value, pair => pair.Key, StringComparer.Ordinal);

        public static string Write(T value) =>
            Names.TryGetValue(value, out var name)
                ? name
                : throw new ArgumentOutOfRangeException(nameof(value), value, $"not a {typeof(T).Name}");

        public static T Read(string name) =>
            Values.TryGetValue(name, out var value)
                ? value
                : throw new InvalidDataException($"the state database holds an unknown {typeof(T).Name} '{name}'");
    }
}
