using System.Globalization;

namespace RuleMail.Host.State;

// The ledger as the HTTP API lists it: newest first, filtered, a page at a time.
internal sealed partial class PostgresStateStore
{
    /// <inheritdoc />
    /// <remarks>
    /// The security outcomes are read from the entry's stored security result (kept as text, so it round-trips exactly;
    /// cast to <c>jsonb</c> here). The page after <see cref="LedgerPageQuery.After"/> is exact whatever was added since
    /// (a row-value comparison on the whole order), and empty when that entry is unknown.
    /// </remarks>
    public Task<IReadOnlyList<LedgerEntry>> ListMessagesAsync(LedgerPageQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1, nameof(query));
        var where = new List<string> { "TRUE" };
        var parameters = new List<(string Name, object? Value)>();
        if (query.Account is { } account)
        {
            where.Add("account = @account");
            parameters.Add(("account", account));
        }

        if (query.Since is { } since)
        {
            where.Add("first_seen >= @since");
            parameters.Add(("since", Ticks(since)));
        }

        if (query.States.Count > 0)
        {
            var names = query.States.Order().Select((state, i) =>
            {
                var name = "state" + i.ToString(CultureInfo.InvariantCulture);
                parameters.Add((name, EnumText<MessageState>.Write(state)));
                return "@" + name;
            });
            where.Add($"state IN ({string.Join(", ", names)})");
        }

        if (query.Security.Count > 0)
        {
            // Fixed SQL per outcome: nothing of the caller's goes into the text.
            where.Add("analysis_version IS NOT NULL AND (" + string.Join(" OR ", query.Security.Order().Select(SecurityCondition)) + ")");
        }

        if (query.After is { } after)
        {
            where.Add("""
                (first_seen, account, folder, source_key) < (
                    (SELECT first_seen FROM message WHERE account = @after_account AND folder = @after_folder AND source_key = @after_key),
                    @after_account, @after_folder, @after_key)
                """);
            parameters.Add(("after_account", after.Account));
            parameters.Add(("after_folder", after.Folder));
            parameters.Add(("after_key", after.SourceKey));
        }

        parameters.Add(("limit", query.Limit));
        return ReadListAsync(
            $"""
            SELECT {MessageColumns} FROM message
            WHERE {string.Join("\n  AND ", where)}
            ORDER BY first_seen DESC, account DESC, folder DESC, source_key DESC
            LIMIT @limit;
            """,
            ReadEntry,
            cancellationToken,
            [.. parameters]);
    }

    /// <summary>
    /// The condition on the stored security result, as SQLite's <c>json_extract</c> reads it: JSON <c>true</c> or 1 is
    /// a success, <c>false</c> or 0 a failure, anything else (null, missing) neither.
    /// </summary>
    private static string SecurityCondition(SecurityOutcomeFilter outcome) => outcome switch
    {
        SecurityOutcomeFilter.Encrypted => "(security_json::jsonb #> '{encryption,success}') IN ('true'::jsonb, '1'::jsonb)",
        SecurityOutcomeFilter.DecryptFailed => "(security_json::jsonb #> '{encryption,success}') IN ('false'::jsonb, '0'::jsonb)",
        SecurityOutcomeFilter.Verified => "(security_json::jsonb #> '{sign,success}') IN ('true'::jsonb, '1'::jsonb)",
        SecurityOutcomeFilter.SignatureFailed => "(security_json::jsonb #> '{sign,success}') IN ('false'::jsonb, '0'::jsonb)",
        SecurityOutcomeFilter.Plain => "(security_json IS NOT NULL AND jsonb_typeof(security_json::jsonb -> 'sign') IS DISTINCT FROM 'object' AND jsonb_typeof(security_json::jsonb -> 'encryption') IS DISTINCT FROM 'object')",
        SecurityOutcomeFilter.SecurityFailed => "((security_json::jsonb #> '{sign,success}') IN ('false'::jsonb, '0'::jsonb) OR (security_json::jsonb #> '{encryption,success}') IN ('false'::jsonb, '0'::jsonb))",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "not a security outcome"),
    };
}
