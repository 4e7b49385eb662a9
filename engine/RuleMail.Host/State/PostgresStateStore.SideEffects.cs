using Npgsql;

namespace RuleMail.Host.State;

// Side effects: each analysis' plan, keyed by idempotency key, and what a move did to the message's location.
internal sealed partial class PostgresStateStore
{
    private const string SideEffectColumns =
        "idempotency_key, account, folder, source_key, ord, kind, target, payload, state, attempts, detail, updated_at, timeout_ms, analysis_version";

    /// <inheritdoc />
    public Task<IReadOnlyList<SideEffect>> SideEffectsAsync(
        string account, string folder, string sourceKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(sourceKey);
        return ReadListAsync(
            $"""
            SELECT {SideEffectColumns} FROM side_effect
            WHERE account = @account AND folder = @folder AND source_key = @source_key
            ORDER BY analysis_version, ord, idempotency_key;
            """,
            reader => new SideEffect
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
                UpdatedAt = ReadTime(reader, 11),
                Timeout = reader.IsDBNull(12) ? null : TimeSpan.FromMilliseconds(reader.GetInt64(12)),
                AnalysisVersion = reader.GetInt32(13),
            },
            cancellationToken,
            ("account", account),
            ("folder", folder),
            ("source_key", sourceKey));
    }

    /// <inheritdoc />
    /// <remarks>Also sets the side effect's <c>updated_at</c>; the plan's other columns never change.</remarks>
    /// <exception cref="InvalidOperationException">No side effect has this idempotency key.</exception>
    public Task UpdateSideEffectAsync(SideEffect effect, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(effect);
        return WriteAsync((connection, transaction) => UpdateSideEffectAsync(connection, transaction, effect, cancellationToken), cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">No side effect has this idempotency key.</exception>
    public Task RecordMoveAsync(SideEffect effect, MessageLocation location, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(effect);
        ArgumentNullException.ThrowIfNull(location);
        return WriteAsync(async (connection, transaction) =>
        {
            await UpdateSideEffectAsync(connection, transaction, effect, cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(
                connection,
                transaction,
                """
                UPDATE message SET
                    location_folder = @location_folder,
                    location_key = @location_key,
                    location_uid_validity = @location_uid_validity,
                    location_uid = @location_uid
                WHERE account = @account AND folder = @folder AND source_key = @source_key;
                """,
                cancellationToken,
                ("location_folder", location.Folder),
                ("location_key", location.Key),
                ("location_uid_validity", (long?)location.UidValidity),
                ("location_uid", (long?)location.Uid),
                ("account", effect.Account),
                ("folder", effect.Folder),
                ("source_key", effect.SourceKey)).ConfigureAwait(false);
        }, cancellationToken);
    }

    private static async Task UpdateSideEffectAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, SideEffect effect, CancellationToken cancellationToken)
    {
        var updated = await ExecuteAsync(
            connection,
            transaction,
            """
            UPDATE side_effect SET
                state = @state,
                attempts = @attempts,
                detail = @detail,
                updated_at = @updated_at
            WHERE idempotency_key = @idempotency_key;
            """,
            cancellationToken,
            ("state", EnumText<SideEffectState>.Write(effect.State)),
            ("attempts", effect.Attempts),
            ("detail", effect.Detail),
            ("updated_at", Ticks(effect.UpdatedAt)),
            ("idempotency_key", effect.IdempotencyKey)).ConfigureAwait(false);
        if (updated == 0)
        {
            throw new InvalidOperationException($"no side effect {effect.IdempotencyKey} to update");
        }
    }

    /// <summary>
    /// Inserts the plan's side effects whose idempotency key is not yet known, in one round trip. A known key keeps
    /// its row as it is (ON CONFLICT DO NOTHING on the key alone: a NOT NULL violation still fails); a node inserting
    /// the same key at the same moment makes this one wait for its commit, then skip the row.
    /// </summary>
    private static async Task InsertPlanAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<SideEffect> plan, CancellationToken cancellationToken)
    {
        if (plan.Count == 0)
        {
            return;
        }

        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var effect in plan)
        {
            var insert = new NpgsqlBatchCommand(
                $"""
                INSERT INTO side_effect ({SideEffectColumns})
                VALUES (@idempotency_key, @account, @folder, @source_key, @ord, @kind, @target, @payload, @state, @attempts,
                        @detail, @updated_at, @timeout_ms, @analysis_version)
                ON CONFLICT (idempotency_key) DO NOTHING;
                """);
            foreach (var (name, value) in new (string Name, object? Value)[]
            {
                ("idempotency_key", effect.IdempotencyKey),
                ("account", effect.Account),
                ("folder", effect.Folder),
                ("source_key", effect.SourceKey),
                ("ord", effect.Order),
                ("kind", EnumText<SideEffectKind>.Write(effect.Kind)),
                ("target", effect.Target),
                ("payload", effect.Payload),
                ("state", EnumText<SideEffectState>.Write(effect.State)),
                ("attempts", effect.Attempts),
                ("detail", effect.Detail),
                ("updated_at", Ticks(effect.UpdatedAt)),
                ("timeout_ms", effect.Timeout is { } timeout ? (long)timeout.TotalMilliseconds : null),
                ("analysis_version", effect.AnalysisVersion),
            })
            {
                insert.Parameters.Add(new NpgsqlParameter(name, value ?? DBNull.Value));
            }

            batch.BatchCommands.Add(insert);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
