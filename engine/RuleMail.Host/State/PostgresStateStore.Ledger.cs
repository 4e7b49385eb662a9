using Npgsql;

namespace RuleMail.Host.State;

// The ledger: every message seen, with its current analysis and where it is now, and the analyses of each.
internal sealed partial class PostgresStateStore
{
    private const string MessageColumns =
        "account, folder, source_key, uid_validity, uid, message_id, content_hash, state, attempts, next_attempt, error, "
        + "security_json, decision_json, tags, subject, sender, first_seen, updated_at, "
        + "analysis_version, location_folder, location_key, location_uid_validity, location_uid";

    private const string AnalysisColumns =
        "account, folder, source_key, version, analysed_at, triggered_by, security_json, decision_json, tags, security_failed";

    /// <summary>The analysis table's key: a second node recording the same version of a message hits it.</summary>
    private const string AnalysisKey = "analysis_pkey";

    /// <summary>PostgreSQL's SQLSTATE for a unique violation.</summary>
    private const string UniqueViolation = "23505";

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
            ThrowIfDisposed();
            return found;
        }

        // One statement with the keys as one array parameter: one snapshot, however many keys.
        var rows = await ReadListAsync(
            $"""
            SELECT {MessageColumns} FROM message
            WHERE account = @account
              AND ((folder = @folder AND source_key = ANY(@keys)) OR (location_folder = @folder AND location_key = ANY(@keys)));
            """,
            ReadEntry,
            cancellationToken,
            ("account", account),
            ("folder", folder),
            ("keys", keys)).ConfigureAwait(false);
        var asked = keys.ToHashSet(StringComparer.Ordinal);
        foreach (var entry in rows)
        {
            if (string.Equals(entry.Folder, folder, StringComparison.Ordinal) && asked.Contains(entry.SourceKey))
            {
                found[entry.SourceKey] = entry;
            }
        }

        foreach (var entry in rows)
        {
            if (entry.Location is { Key: { } moved } && string.Equals(entry.Location.Folder, folder, StringComparison.Ordinal)
                && asked.Contains(moved))
            {
                found.TryAdd(moved, entry);
            }
        }

        return found;
    }

    /// <inheritdoc />
    public async Task<LedgerEntry?> FindByContentHashAsync(
        string account, string folder, string contentHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(contentHash);

        // Several entries may share the hash (the same message twice); the first seen is the stable answer.
        var rows = await ReadListAsync(
            $"""
            SELECT {MessageColumns} FROM message
            WHERE account = @account AND folder = @folder AND content_hash = @content_hash
            ORDER BY first_seen, source_key
            LIMIT 1;
            """,
            ReadEntry,
            cancellationToken,
            ("account", account),
            ("folder", folder),
            ("content_hash", contentHash)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc />
    /// <remarks>In UID order with the entries without a UID first, as SQLite sorts NULL.</remarks>
    public Task<IReadOnlyList<LedgerEntry>> DueMessagesAsync(
        string account, string folder, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(folder);
        return ReadListAsync(
            $"""
            SELECT {MessageColumns} FROM message
            WHERE account = @account AND folder = @folder
              AND state IN (@processing, @retry)
              AND (next_attempt IS NULL OR next_attempt <= @now)
            ORDER BY uid NULLS FIRST, first_seen, source_key;
            """,
            ReadEntry,
            cancellationToken,
            ("account", account),
            ("folder", folder),
            ("processing", EnumText<MessageState>.Write(MessageState.Processing)),
            ("retry", EnumText<MessageState>.Write(MessageState.Retry)),
            ("now", Ticks(now)));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<LedgerEntry>> AnalysedMessagesAsync(LedgerQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        return ReadListAsync(
            $"""
            SELECT {MessageColumns} FROM message
            WHERE analysis_version IS NOT NULL AND (@account::text IS NULL OR account = @account)
              AND (cardinality(@keys) = 0 OR source_key = ANY(@keys))
              AND (NOT @failed OR EXISTS (
                  SELECT 1 FROM analysis a
                  WHERE a.account = message.account AND a.folder = message.folder AND a.source_key = message.source_key
                    AND a.version = message.analysis_version AND a.security_failed))
            ORDER BY account, folder, first_seen, source_key;
            """,
            ReadEntry,
            cancellationToken,
            ("account", query.Account),
            ("keys", query.SourceKeys.Distinct(StringComparer.Ordinal).ToArray()),
            ("failed", query.SecurityFailed));
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A side effect of the plan belongs to another message.</exception>
    public Task RecordAsync(LedgerEntry entry, IReadOnlyList<SideEffect> plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(plan);
        RecordChecks.Plan(entry, plan);
        return WriteAsync(async (connection, transaction) =>
        {
            await UpsertEntryAsync(connection, transaction, entry, withAnalysis: false, cancellationToken).ConfigureAwait(false);
            await InsertPlanAsync(connection, transaction, plan, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Race-safe across nodes: the entry's row is locked (<c>FOR UPDATE</c>) before its version is checked, so a second
    /// node waits and then sees the version the first committed; and when neither had the row yet, the analysis
    /// table's key refuses the second insert of that version, which is reported the same way. An analysis that leaves a
    /// claimed message done (nothing to do) takes it off the work queue in the same commit (<see cref="DequeueIfDoneAsync"/>).
    /// </remarks>
    /// <exception cref="ArgumentException">The analysis or a side effect of the plan belongs to another message or version.</exception>
    public async Task RecordAnalysisAsync(LedgerEntry entry, MessageAnalysis analysis, IReadOnlyList<SideEffect> plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(analysis);
        ArgumentNullException.ThrowIfNull(plan);
        RecordChecks.Analysis(entry, analysis, plan);

        bool dequeued;
        try
        {
            dequeued = await WriteAsync(async (connection, transaction) =>
            {
                await WriteAnalysisAsync(connection, transaction, entry, analysis, cancellationToken).ConfigureAwait(false);
                await InsertPlanAsync(connection, transaction, plan, cancellationToken).ConfigureAwait(false);
                return await DequeueIfDoneAsync(connection, transaction, entry, cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState == UniqueViolation && e.ConstraintName == AnalysisKey)
        {
            throw new InvalidOperationException(
                $"{entry.Account}/{entry.Folder}/{entry.SourceKey}: analysis {analysis.Version} was recorded meanwhile by another writer (judged again meanwhile?)", e);
        }

        if (dequeued)
        {
            _fence!.Committed();
        }
    }

    /// <inheritdoc />
    /// <remarks>On a view fenced by a claim each analysis is recorded on its own, as <see cref="RecordAnalysisAsync"/> does
    /// (its commit also takes the claimed message off the work queue).</remarks>
    /// <exception cref="ArgumentException">An analysis does not fit its entry, or an entry is not done.</exception>
    public async Task RecordDoneAnalysesAsync(IReadOnlyList<DoneAnalysis> analyses, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(analyses);
        RecordChecks.Done(analyses);
        if (_fence is not null)
        {
            foreach (var (entry, analysis) in analyses)
            {
                await RecordAnalysisAsync(entry, analysis, [], cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        if (analyses.Count == 0)
        {
            return;
        }

        try
        {
            await WriteAsync(async (connection, transaction) =>
            {
                foreach (var (entry, analysis) in analyses)
                {
                    await WriteAnalysisAsync(connection, transaction, entry, analysis, cancellationToken).ConfigureAwait(false);
                }
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState == UniqueViolation && e.ConstraintName == AnalysisKey)
        {
            throw new InvalidOperationException("an analysis of the batch was recorded meanwhile by another writer (judged again meanwhile?); none of the batch is recorded", e);
        }
    }

    /// <summary>Locks the entry's row, checks that <paramref name="analysis"/> is its next version, then writes the entry and the analysis.</summary>
    /// <exception cref="InvalidOperationException">That version is already recorded, or it is not the next one.</exception>
    private static async Task WriteAnalysisAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, LedgerEntry entry, MessageAnalysis analysis, CancellationToken cancellationToken)
    {
        await using (var current = Command(
            connection,
            transaction,
            "SELECT analysis_version FROM message WHERE account = @account AND folder = @folder AND source_key = @source_key FOR UPDATE;",
            ("account", entry.Account),
            ("folder", entry.Folder),
            ("source_key", entry.SourceKey)))
        {
            var recorded = await current.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            var version = recorded is int known ? known : 0;
            if (version != analysis.Version - 1)
            {
                throw new InvalidOperationException(
                    $"{entry.Account}/{entry.Folder}/{entry.SourceKey} is at analysis {version}: analysis {analysis.Version} cannot follow it (judged again meanwhile?)");
            }
        }

        await UpsertEntryAsync(connection, transaction, entry, withAnalysis: true, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(
            connection,
            transaction,
            $"""
            INSERT INTO analysis ({AnalysisColumns})
            VALUES (@account, @folder, @source_key, @version, @analysed_at, @triggered_by, @security_json, @decision_json, @tags, @security_failed);
            """,
            cancellationToken,
            ("account", analysis.Account),
            ("folder", analysis.Folder),
            ("source_key", analysis.SourceKey),
            ("version", analysis.Version),
            ("analysed_at", Ticks(analysis.AnalysedAt)),
            ("triggered_by", EnumText<AnalysisTrigger>.Write(analysis.Trigger)),
            ("security_json", analysis.SecurityJson),
            ("decision_json", analysis.DecisionJson),
            ("tags", SqliteValues.WriteTags(analysis.Tags)),
            ("security_failed", analysis.SecurityFailed)).ConfigureAwait(false);
    }

    /// <summary>
    /// On a view fenced by a claim on this entry's message, a write that records it <see cref="MessageState.Done"/>
    /// (its analysis with an empty plan, or the end of its plan) also takes it off the work queue in the same commit:
    /// one commit fewer per message. Nothing is written for the message under its claim after that.
    /// </summary>
    /// <returns>Whether it did: call the fence's <c>Committed</c> once the transaction has committed.</returns>
    private async Task<bool> DequeueIfDoneAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, LedgerEntry entry, CancellationToken cancellationToken) =>
        entry.State == MessageState.Done && _fence is not null
        && await _fence.DoneAsync(connection, transaction, entry.Account, entry.Folder, entry.SourceKey, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public Task<IReadOnlyList<MessageAnalysis>> AnalysesAsync(string account, string folder, string sourceKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(sourceKey);
        return ReadListAsync(
            $"""
            SELECT {AnalysisColumns} FROM analysis
            WHERE account = @account AND folder = @folder AND source_key = @source_key
            ORDER BY version;
            """,
            reader => new MessageAnalysis
            {
                Account = reader.GetString(0),
                Folder = reader.GetString(1),
                SourceKey = reader.GetString(2),
                Version = reader.GetInt32(3),
                AnalysedAt = ReadTime(reader, 4),
                Trigger = EnumText<AnalysisTrigger>.Read(reader.GetString(5)),
                SecurityJson = reader.GetString(6),
                DecisionJson = reader.GetString(7),
                Tags = SqliteValues.ReadTags(reader.GetString(8)),
                SecurityFailed = reader.GetBoolean(9),
            },
            cancellationToken,
            ("account", account),
            ("folder", folder),
            ("source_key", sourceKey));
    }

    /// <inheritdoc />
    /// <remarks>Also sets the entry's <c>updated_at</c>; the other columns are left as recorded.</remarks>
    /// <exception cref="InvalidOperationException">No entry has this account, folder and source key.</exception>
    /// <remarks>Recording a claimed message done takes it off the work queue in the same commit (<see cref="DequeueIfDoneAsync"/>).</remarks>
    public async Task UpdateMessageAsync(LedgerEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var dequeued = await WriteAsync(async (connection, transaction) =>
        {
            var updated = await ExecuteAsync(
                connection,
                transaction,
                """
                UPDATE message SET
                    state = @state,
                    attempts = @attempts,
                    next_attempt = @next_attempt,
                    error = @error,
                    updated_at = @updated_at
                WHERE account = @account AND folder = @folder AND source_key = @source_key;
                """,
                cancellationToken,
                ("state", EnumText<MessageState>.Write(entry.State)),
                ("attempts", entry.Attempts),
                ("next_attempt", Ticks(entry.NextAttempt)),
                ("error", entry.Error),
                ("updated_at", Ticks(entry.UpdatedAt)),
                ("account", entry.Account),
                ("folder", entry.Folder),
                ("source_key", entry.SourceKey)).ConfigureAwait(false);
            if (updated == 0)
            {
                throw new InvalidOperationException($"no ledger entry {entry.Account}/{entry.Folder}/{entry.SourceKey} to update");
            }

            return await DequeueIfDoneAsync(connection, transaction, entry, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        if (dequeued)
        {
            _fence!.Committed();
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<MessageState, int>> CountMessagesAsync(string account, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        var counts = Enum.GetValues<MessageState>().ToDictionary(state => state, _ => 0);
        var rows = await ReadListAsync(
            "SELECT state, COUNT(*) FROM message WHERE account = @account GROUP BY state;",
            reader => (State: EnumText<MessageState>.Read(reader.GetString(0)), Count: checked((int)reader.GetInt64(1))),
            cancellationToken,
            ("account", account)).ConfigureAwait(false);
        foreach (var (state, count) in rows)
        {
            counts[state] = count;
        }

        return counts;
    }

    /// <summary>
    /// Inserts the entry or replaces every column of the recorded one but <c>first_seen</c>; its analysis version and
    /// location only <paramref name="withAnalysis"/> (a new analysis knows where it read the message). Race-safe: a
    /// concurrent insert of the same entry makes this one wait and then update it.
    /// </summary>
    private static async Task UpsertEntryAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, LedgerEntry entry, bool withAnalysis, CancellationToken cancellationToken)
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
        await ExecuteAsync(
            connection,
            transaction,
            $"""
            INSERT INTO message ({MessageColumns})
            VALUES (@account, @folder, @source_key, @uid_validity, @uid, @message_id, @content_hash, @state, @attempts,
                    @next_attempt, @error, @security_json, @decision_json, @tags, @subject, @sender, @first_seen, @updated_at,
                    @analysis_version, @location_folder, @location_key, @location_uid_validity, @location_uid)
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
            cancellationToken,
            ("account", entry.Account),
            ("folder", entry.Folder),
            ("source_key", entry.SourceKey),
            ("uid_validity", (long?)entry.UidValidity),
            ("uid", (long?)entry.Uid),
            ("message_id", entry.MessageId),
            ("content_hash", entry.ContentHash),
            ("state", EnumText<MessageState>.Write(entry.State)),
            ("attempts", entry.Attempts),
            ("next_attempt", Ticks(entry.NextAttempt)),
            ("error", entry.Error),
            ("security_json", entry.SecurityJson),
            ("decision_json", entry.DecisionJson),
            ("tags", SqliteValues.WriteTags(entry.Tags)),
            ("subject", entry.Subject),
            ("sender", entry.From),
            ("first_seen", Ticks(entry.FirstSeen)),
            ("updated_at", Ticks(entry.UpdatedAt)),
            ("analysis_version", entry.AnalysisVersion),
            ("location_folder", entry.Location?.Folder),
            ("location_key", entry.Location?.Key),
            ("location_uid_validity", (long?)entry.Location?.UidValidity),
            ("location_uid", (long?)entry.Location?.Uid)).ConfigureAwait(false);
    }

    /// <summary>Reads a row selected with <see cref="MessageColumns"/>.</summary>
    private static LedgerEntry ReadEntry(NpgsqlDataReader reader) => new()
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
        Tags = SqliteValues.ReadTags(reader.GetString(13)),
        Subject = ReadString(reader, 14),
        From = ReadString(reader, 15),
        FirstSeen = ReadTime(reader, 16),
        UpdatedAt = ReadTime(reader, 17),
        AnalysisVersion = reader.IsDBNull(18) ? null : reader.GetInt32(18),
        Location = ReadString(reader, 19) is { } folder
            ? new MessageLocation(folder, ReadString(reader, 20), ReadNullableUInt(reader, 21), ReadNullableUInt(reader, 22))
            : null,
    };
}
