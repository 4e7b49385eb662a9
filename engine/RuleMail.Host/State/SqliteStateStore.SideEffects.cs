using Microsoft.Data.Sqlite;
using static RuleMail.Host.State.SqliteValues;

namespace RuleMail.Host.State;

// Side effects: each analysis' plan, keyed by idempotency key, and what a move did to the message's location.
internal sealed partial class SqliteStateStore
{
    private const string SideEffectColumns =
        "idempotency_key, account, folder, source_key, ord, kind, target, payload, state, attempts, detail, updated_at, timeout_ms, analysis_version";

    private static readonly string[] SideEffectParameters =
    [
        "$idempotency_key", "$account", "$folder", "$source_key", "$ord", "$kind", "$target", "$payload", "$state",
        "$attempts", "$detail", "$updated_at", "$timeout_ms", "$analysis_version",
    ];

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
                ORDER BY analysis_version, ord, idempotency_key;
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
                    AnalysisVersion = reader.GetInt32(13),
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
        await Gated(() => UpdateSideEffectAsync(effect, transaction: null, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">No side effect has this idempotency key.</exception>
    public async Task RecordMoveAsync(SideEffect effect, MessageLocation location, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(effect);
        ArgumentNullException.ThrowIfNull(location);
        await Gated(async () =>
        {
            await using var transaction = Begin();
            await UpdateSideEffectAsync(effect, transaction, cancellationToken).ConfigureAwait(false);
            await using var command = Command(
                """
                UPDATE message SET
                    location_folder = $location_folder,
                    location_key = $location_key,
                    location_uid_validity = $location_uid_validity,
                    location_uid = $location_uid
                WHERE account = $account AND folder = $folder AND source_key = $source_key;
                """,
                ("$location_folder", location.Folder),
                ("$location_key", location.Key),
                ("$location_uid_validity", (long?)location.UidValidity),
                ("$location_uid", (long?)location.Uid),
                ("$account", effect.Account),
                ("$folder", effect.Folder),
                ("$source_key", effect.SourceKey));
            command.Transaction = transaction;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task UpdateSideEffectAsync(SideEffect effect, SqliteTransaction? transaction, CancellationToken cancellationToken)
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
        command.Transaction = transaction;
        if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
        {
            throw new InvalidOperationException($"no side effect {effect.IdempotencyKey} to update");
        }
    }

    /// <summary>
    /// Inserts the plan's side effects whose idempotency key is not yet known. A known key keeps its row as it is:
    /// ON CONFLICT DO NOTHING rather than INSERT OR IGNORE, which would also silently drop a side effect breaking a
    /// NOT NULL constraint instead of failing.
    /// </summary>
    private async Task InsertPlanAsync(IReadOnlyList<SideEffect> plan, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        if (plan.Count == 0)
        {
            return;
        }

        await using var insert = Command(
            $"""
            INSERT INTO side_effect ({SideEffectColumns})
            VALUES ($idempotency_key, $account, $folder, $source_key, $ord, $kind, $target, $payload, $state, $attempts,
                    $detail, $updated_at, $timeout_ms, $analysis_version)
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
            parameters["$analysis_version"].Value = effect.AnalysisVersion;
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
