using Npgsql;

namespace RuleMail.Host.State;

// The outbox: each outbox file's state, by account, file name and content.
internal sealed partial class PostgresStateStore
{
    private const string OutboxColumns =
        "account, file_name, content_hash, message_id, state, reason, attempts, next_attempt, updated_at, delivered";

    /// <inheritdoc />
    public async Task<OutboxEntry?> FindOutboxAsync(
        string account, string fileName, string contentHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentNullException.ThrowIfNull(contentHash);
        var rows = await ReadListAsync(
            $"""
            SELECT {OutboxColumns} FROM outbox
            WHERE account = @account AND file_name = @file_name AND content_hash = @content_hash;
            """,
            ReadOutbox,
            cancellationToken,
            ("account", account),
            ("file_name", fileName),
            ("content_hash", contentHash)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<OutboxEntry>> ListOutboxAsync(string? account, OutboxState? state, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return ReadListAsync(
            $"""
            SELECT {OutboxColumns} FROM outbox
            WHERE (@account::text IS NULL OR account = @account) AND (@state::text IS NULL OR state = @state)
            ORDER BY updated_at DESC, account, file_name
            LIMIT @limit;
            """,
            ReadOutbox,
            cancellationToken,
            ("account", account),
            ("state", state is { } s ? EnumText<OutboxState>.Write(s) : null),
            ("limit", limit));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<OutboxEntry>> FindOutboxByFileAsync(string? account, string fileName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        return ReadListAsync(
            $"""
            SELECT {OutboxColumns} FROM outbox
            WHERE file_name = @file_name AND (@account::text IS NULL OR account = @account)
            ORDER BY updated_at DESC, account, content_hash;
            """,
            ReadOutbox,
            cancellationToken,
            ("account", account),
            ("file_name", fileName));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<OutboxEntry>> FindOutboxByContentAsync(string account, string contentHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(contentHash);
        return ReadListAsync(
            $"""
            SELECT {OutboxColumns} FROM outbox
            WHERE account = @account AND content_hash = @content_hash
            ORDER BY updated_at DESC, file_name;
            """,
            ReadOutbox,
            cancellationToken,
            ("account", account),
            ("content_hash", contentHash));
    }

    /// <inheritdoc />
    public Task SaveOutboxAsync(OutboxEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return WriteAsync(
            (connection, transaction) => ExecuteAsync(
                connection,
                transaction,
                $"""
                INSERT INTO outbox ({OutboxColumns})
                VALUES (@account, @file_name, @content_hash, @message_id, @state, @reason, @attempts, @next_attempt, @updated_at, @delivered)
                ON CONFLICT (account, file_name, content_hash) DO UPDATE SET
                    message_id = excluded.message_id,
                    state = excluded.state,
                    reason = excluded.reason,
                    attempts = excluded.attempts,
                    next_attempt = excluded.next_attempt,
                    updated_at = excluded.updated_at,
                    delivered = excluded.delivered;
                """,
                cancellationToken,
                ("account", entry.Account),
                ("file_name", entry.FileName),
                ("content_hash", entry.ContentHash),
                ("message_id", entry.MessageId),
                ("state", EnumText<OutboxState>.Write(entry.State)),
                ("reason", entry.Reason),
                ("attempts", entry.Attempts),
                ("next_attempt", Ticks(entry.NextAttempt)),
                ("updated_at", Ticks(entry.UpdatedAt)),
                ("delivered", SqliteValues.WriteTags(entry.Delivered))),
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<OutboxCount>> CountOutboxAsync(CancellationToken cancellationToken) =>
        ReadListAsync(
            "SELECT account, state, COUNT(*) FROM outbox GROUP BY account, state ORDER BY account, state;",
            reader => new OutboxCount(reader.GetString(0), EnumText<OutboxState>.Read(reader.GetString(1)), checked((int)reader.GetInt64(2))),
            cancellationToken);

    private static OutboxEntry ReadOutbox(NpgsqlDataReader reader) => new()
    {
        Account = reader.GetString(0),
        FileName = reader.GetString(1),
        ContentHash = reader.GetString(2),
        MessageId = ReadString(reader, 3),
        State = EnumText<OutboxState>.Read(reader.GetString(4)),
        Reason = ReadString(reader, 5),
        Attempts = reader.GetInt32(6),
        NextAttempt = ReadNullableTime(reader, 7),
        UpdatedAt = ReadTime(reader, 8),
        Delivered = SqliteValues.ReadTags(reader.GetString(9)),
    };
}
