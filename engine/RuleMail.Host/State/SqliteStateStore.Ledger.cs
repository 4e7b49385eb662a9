using System.Globalization;
using Microsoft.Data.Sqlite;
using static RuleMail.Host.State.SqliteValues;

namespace RuleMail.Host.State;

// The ledger: every message seen, with its current analysis and where it is now, and the analyses of each.
internal sealed partial class SqliteStateStore
{
    private const string MessageColumns =
        "account, folder, source_key, uid_validity, uid, message_id, content_hash, state, attempts, next_attempt, error, "
        + "security_json, decision_json, tags, subject, sender, first_seen, updated_at, "
        + "analysis_version, location_folder, location_key, location_uid_validity, location_uid";

    private const string AnalysisColumns =
        "account, folder, source_key, version, analysed_at, triggered_by, security_json, decision_json, tags, security_failed";

    /// <inheritdoc />
    /// <remarks>When an entry fetched under a key and another moved there under it both match, the one fetched under it wins.</remarks>
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
                var names = KeyParameters(command, chunk);
                command.CommandText =
                    $"SELECT {MessageColumns} FROM message WHERE account = $account AND ("
                    + $"(folder = $folder AND source_key IN ({names})) OR (location_folder = $folder AND location_key IN ({names})));";
                var asked = chunk.ToHashSet(StringComparer.Ordinal);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var entry = ReadEntry(reader);
                    if (string.Equals(entry.Folder, folder, StringComparison.Ordinal) && asked.Contains(entry.SourceKey))
                    {
                        found[entry.SourceKey] = entry;
                    }

                    if (entry.Location is { Key: { } moved } && string.Equals(entry.Location.Folder, folder, StringComparison.Ordinal)
                        && asked.Contains(moved))
                    {
                        found.TryAdd(moved, entry);
                    }
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
    public async Task<IReadOnlyList<LedgerEntry>> AnalysedMessagesAsync(LedgerQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var keys = query.SourceKeys.Distinct(StringComparer.Ordinal).ToArray();
        return await Gated(async () =>
        {
            await using var transaction = Begin(deferred: true);
            var entries = new List<LedgerEntry>();
            foreach (var chunk in keys.Length == 0 ? [[]] : keys.Chunk(KeysPerQuery))
            {
                await using var command = _connection.CreateCommand();
                command.Transaction = transaction;
                command.Parameters.AddWithValue("$account", (object?)query.Account ?? DBNull.Value);
                command.Parameters.AddWithValue("$failed", query.SecurityFailed ? 1 : 0);
                var byKey = chunk.Length == 0 ? string.Empty : $"AND source_key IN ({KeyParameters(command, chunk)})";
                command.CommandText = $"""
                    SELECT {MessageColumns} FROM message
                    WHERE analysis_version IS NOT NULL AND ($account IS NULL OR account = $account) {byKey}
                      AND ($failed = 0 OR EXISTS (
                          SELECT 1 FROM analysis a
                          WHERE a.account = message.account AND a.folder = message.folder AND a.source_key = message.source_key
                            AND a.version = message.analysis_version AND a.security_failed = 1))
                    ORDER BY account, folder, first_seen, source_key;
                    """;
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    entries.Add(ReadEntry(reader));
                }
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return entries;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A side effect of the plan belongs to another message.</exception>
    public Task RecordAsync(LedgerEntry entry, IReadOnlyList<SideEffect> plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(plan);
        RecordChecks.Plan(entry, plan);
        return Gated(async () =>
        {
            await using var transaction = Begin();
            await UpsertEntryAsync(entry, withAnalysis: false, transaction, cancellationToken).ConfigureAwait(false);
            await InsertPlanAsync(plan, transaction, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The analysis or a side effect of the plan belongs to another message or version.</exception>
    public Task RecordAnalysisAsync(LedgerEntry entry, MessageAnalysis analysis, IReadOnlyList<SideEffect> plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(analysis);
        ArgumentNullException.ThrowIfNull(plan);
        RecordChecks.Analysis(entry, analysis, plan);

        return Gated(async () =>
        {
            await using var transaction = Begin();
            await WriteAnalysisAsync(entry, analysis, transaction, cancellationToken).ConfigureAwait(false);
            await InsertPlanAsync(plan, transaction, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An analysis does not fit its entry, or an entry is not done.</exception>
    public Task RecordDoneAnalysesAsync(IReadOnlyList<DoneAnalysis> analyses, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(analyses);
        RecordChecks.Done(analyses);
        if (analyses.Count == 0)
        {
            return Task.CompletedTask;
        }

        return Gated(async () =>
        {
            await using var transaction = Begin();
            foreach (var (entry, analysis) in analyses)
            {
                await WriteAnalysisAsync(entry, analysis, transaction, cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>Checks that <paramref name="analysis"/> is the entry's next version, then writes the entry and the analysis.</summary>
    /// <exception cref="InvalidOperationException">That version is already recorded, or it is not the next one.</exception>
    private async Task WriteAnalysisAsync(LedgerEntry entry, MessageAnalysis analysis, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        await using (var current = Command(
            "SELECT analysis_version FROM message WHERE account = $account AND folder = $folder AND source_key = $source_key;",
            ("$account", entry.Account),
            ("$folder", entry.Folder),
            ("$source_key", entry.SourceKey)))
        {
            current.Transaction = transaction;
            var recorded = await current.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            var version = recorded is null or DBNull ? 0 : Convert.ToInt32(recorded, CultureInfo.InvariantCulture);
            if (version != analysis.Version - 1)
            {
                throw new InvalidOperationException(
                    $"{entry.Account}/{entry.Folder}/{entry.SourceKey} is at analysis {version}: analysis {analysis.Version} cannot follow it (judged again meanwhile?)");
            }
        }

        await UpsertEntryAsync(entry, withAnalysis: true, transaction, cancellationToken).ConfigureAwait(false);
        await using (var insert = Command(
            $"""
            INSERT INTO analysis ({AnalysisColumns})
            VALUES ($account, $folder, $source_key, $version, $analysed_at, $triggered_by, $security_json, $decision_json, $tags, $security_failed);
            """,
            ("$account", analysis.Account),
            ("$folder", analysis.Folder),
            ("$source_key", analysis.SourceKey),
            ("$version", analysis.Version),
            ("$analysed_at", WriteTime(analysis.AnalysedAt)),
            ("$triggered_by", EnumText<AnalysisTrigger>.Write(analysis.Trigger)),
            ("$security_json", analysis.SecurityJson),
            ("$decision_json", analysis.DecisionJson),
            ("$tags", WriteTags(analysis.Tags)),
            ("$security_failed", analysis.SecurityFailed ? 1 : 0)))
        {
            insert.Transaction = transaction;
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<MessageAnalysis>> AnalysesAsync(string account, string folder, string sourceKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(sourceKey);
        return await Gated(async () =>
        {
            await using var command = Command(
                $"""
                SELECT {AnalysisColumns} FROM analysis
                WHERE account = $account AND folder = $folder AND source_key = $source_key
                ORDER BY version;
                """,
                ("$account", account),
                ("$folder", folder),
                ("$source_key", sourceKey));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var analyses = new List<MessageAnalysis>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                analyses.Add(new MessageAnalysis
                {
                    Account = reader.GetString(0),
                    Folder = reader.GetString(1),
                    SourceKey = reader.GetString(2),
                    Version = reader.GetInt32(3),
                    AnalysedAt = ReadTime(reader.GetString(4)),
                    Trigger = EnumText<AnalysisTrigger>.Read(reader.GetString(5)),
                    SecurityJson = reader.GetString(6),
                    DecisionJson = reader.GetString(7),
                    Tags = ReadTags(reader.GetString(8)),
                    SecurityFailed = reader.GetInt64(9) != 0,
                });
            }

            return analyses;
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

    /// <summary>
    /// Inserts the entry or replaces every column of the recorded one but <c>first_seen</c>; its analysis version and
    /// location only <paramref name="withAnalysis"/> (a new analysis knows where it read the message).
    /// </summary>
    private async Task UpsertEntryAsync(LedgerEntry entry, bool withAnalysis, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        var analysisColumns = withAnalysis
            ? """
              ,
                  analysis_version = excluded.analysis_version,
                  location_folder = excluded.location_folder,
                  location_key = excluded.location_key,
                  location_uid_validity = excluded.location_uid_validity,
                  location_uid = excluded.location_uid
              """
            : string.Empty;
        await using var upsert = Command(
            $"""
            INSERT INTO message ({MessageColumns})
            VALUES ($account, $folder, $source_key, $uid_validity, $uid, $message_id, $content_hash, $state, $attempts,
                    $next_attempt, $error, $security_json, $decision_json, $tags, $subject, $sender, $first_seen, $updated_at,
                    $analysis_version, $location_folder, $location_key, $location_uid_validity, $location_uid)
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
                updated_at = excluded.updated_at{analysisColumns};
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
            ("$tags", WriteTags(entry.Tags)),
            ("$subject", entry.Subject),
            ("$sender", entry.From),
            ("$first_seen", WriteTime(entry.FirstSeen)),
            ("$updated_at", WriteTime(entry.UpdatedAt)),
            ("$analysis_version", entry.AnalysisVersion),
            ("$location_folder", entry.Location?.Folder),
            ("$location_key", entry.Location?.Key),
            ("$location_uid_validity", (long?)entry.Location?.UidValidity),
            ("$location_uid", (long?)entry.Location?.Uid));
        upsert.Transaction = transaction;
        await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Adds <c>$k0</c>, <c>$k1</c>, ... for <paramref name="keys"/> to the command; their names for an <c>IN (…)</c>.</summary>
    private static string KeyParameters(SqliteCommand command, string[] keys)
    {
        var names = new string[keys.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            names[i] = "$k" + i.ToString(CultureInfo.InvariantCulture);
            command.Parameters.AddWithValue(names[i], keys[i]);
        }

        return string.Join(", ", names);
    }

    /// <summary>Reads a row selected with <see cref="MessageColumns"/>.</summary>
    private static LedgerEntry ReadEntry(SqliteDataReader reader) => new()
    {
        Account = reader.GetString(0),
        Folder = reader.GetString(1),
        SourceKey = reader.GetString(2),
        UidValidity = ReadNullableUInt(reader, 3),
        Uid = ReadNullableUInt(reader, 4),
        MessageId = ReadString(reader, 5),
        ContentHash = reader.GetString(6),
        State = EnumText<MessageState>.Read(reader.GetString(7)),
        Attempts = reader.GetInt32(8),
        NextAttempt = ReadNullableTime(reader, 9),
        Error = ReadString(reader, 10),
        SecurityJson = ReadString(reader, 11),
        DecisionJson = ReadString(reader, 12),
        Tags = ReadTags(reader.GetString(13)),
        Subject = ReadString(reader, 14),
        From = ReadString(reader, 15),
        FirstSeen = ReadTime(reader.GetString(16)),
        UpdatedAt = ReadTime(reader.GetString(17)),
        AnalysisVersion = reader.IsDBNull(18) ? null : reader.GetInt32(18),
        Location = ReadString(reader, 19) is { } folder
            ? new MessageLocation(folder, ReadString(reader, 20), ReadNullableUInt(reader, 21), ReadNullableUInt(reader, 22))
            : null,
    };
}
