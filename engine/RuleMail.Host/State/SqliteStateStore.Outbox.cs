using static RuleMail.Host.State.SqliteValues;

namespace RuleMail.Host.State;

// The outbox: each outbox file's state, by account, file name and content.
internal sealed partial class SqliteStateStore
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

            return ReadOutbox(reader);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<OutboxEntry>> ListOutboxAsync(string? account, OutboxState? state, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return await QueryOutboxAsync(
            $"""
            SELECT {OutboxColumns} FROM outbox
            WHERE ($account IS NULL OR account = $account) AND ($state IS NULL OR state = $state)
            ORDER BY updated_at DESC, account, file_name
            LIMIT $limit;
            """,
            cancellationToken,
            ("$account", account),
            ("$state", state is { } s ? EnumText<OutboxState>.Write(s) : null),
            ("$limit", limit)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<OutboxEntry>> FindOutboxByFileAsync(string? account, string fileName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        return QueryOutboxAsync(
            $"""
            SELECT {OutboxColumns} FROM outbox
            WHERE file_name = $file_name AND ($account IS NULL OR account = $account)
            ORDER BY updated_at DESC, account, content_hash;
            """,
            cancellationToken,
            ("$account", account),
            ("$file_name", fileName));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<OutboxEntry>> FindOutboxByContentAsync(string account, string contentHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(contentHash);
        return QueryOutboxAsync(
            $"""
            SELECT {OutboxColumns} FROM outbox
            WHERE account = $account AND content_hash = $content_hash
            ORDER BY updated_at DESC, file_name;
            """,
            cancellationToken,
            ("$account", account),
            ("$content_hash", contentHash));
    }

    private async Task<IReadOnlyList<OutboxEntry>> QueryOutboxAsync(
        string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        await Gated(async () =>
        {
            await using var command = Command(sql, parameters);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var entries = new List<OutboxEntry>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                entries.Add(ReadOutbox(reader));
            }

            return (IReadOnlyList<OutboxEntry>)entries;
        }, cancellationToken).ConfigureAwait(false);

    private static OutboxEntry ReadOutbox(Microsoft.Data.Sqlite.SqliteDataReader reader) => new()
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
        Delivered = ReadTags(reader.GetString(9)),
    };

    /// <inheritdoc />
    public async Task SaveOutboxAsync(OutboxEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await Gated(async () =>
        {
            await using var command = Command(
                $"""
                INSERT INTO outbox ({OutboxColumns})
                VALUES ($account, $file_name, $content_hash, $message_id, $state, $reason, $attempts, $next_attempt, $updated_at, $delivered)
                ON CONFLICT (account, file_name, content_hash) DO UPDATE SET
                    message_id = excluded.message_id,
                    state = excluded.state,
                    reason = excluded.reason,
                    attempts = excluded.attempts,
                    next_attempt = excluded.next_attempt,
                    updated_at = excluded.updated_at,
                    delivered = excluded.delivered;
                """,
                ("$account", entry.Account),
                ("$file_name", entry.FileName),
                ("$content_hash", entry.ContentHash),
                ("$message_id", entry.MessageId),
                ("$state", EnumText<OutboxState>.Write(entry.State)),
                ("$reason", entry.Reason),
                ("$attempts", entry.Attempts),
                ("$next_attempt", WriteTime(entry.NextAttempt)),
                ("$updated_at", WriteTime(entry.UpdatedAt)),
                ("$delivered", WriteTags(entry.Delivered)));
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<OutboxCount>> CountOutboxAsync(CancellationToken cancellationToken)
    {
        return await Gated(async () =>
        {
            await using var command = Command("SELECT account, state, COUNT(*) FROM outbox GROUP BY account, state ORDER BY account, state;");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var counts = new List<OutboxCount>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                counts.Add(new OutboxCount(reader.GetString(0), EnumText<OutboxState>.Read(reader.GetString(1)), reader.GetInt32(2)));
            }

            return (IReadOnlyList<OutboxCount>)counts;
        }, cancellationToken).ConfigureAwait(false);
    }
}
