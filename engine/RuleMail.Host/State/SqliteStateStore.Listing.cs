using System.Globalization;
using static RuleMail.Host.State.SqliteValues;

namespace RuleMail.Host.State;

// The ledger as the HTTP API lists it: newest first, filtered, a page at a time.
internal sealed partial class SqliteStateStore
{
    /// <inheritdoc />
    /// <remarks>
    /// The security outcomes are read from the entry's stored security result (<c>json_extract</c>), and the order has
    /// no index of its own: each page reads the matching rows of the table once and sorts them, which SQLite does in
    /// milliseconds for ledgers of tens of thousands of messages. The page after <see cref="LedgerPageQuery.After"/> is
    /// exact whatever was added since (a row-value comparison on the whole order), and empty when that entry is unknown.
    /// </remarks>
    public async Task<IReadOnlyList<LedgerEntry>> ListMessagesAsync(LedgerPageQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1, nameof(query));
        return await Gated(async () =>
        {
            await using var command = _connection.CreateCommand();
            var where = new List<string> { "1 = 1" };
            if (query.Account is { } account)
            {
                where.Add("account = $account");
                command.Parameters.AddWithValue("$account", account);
            }

            if (query.Since is { } since)
            {
                where.Add("first_seen >= $since");
                command.Parameters.AddWithValue("$since", WriteTime(since));
            }

            if (query.States.Count > 0)
            {
                var names = query.States.Order().Select((state, i) =>
                {
                    var name = "$state" + i.ToString(CultureInfo.InvariantCulture);
                    command.Parameters.AddWithValue(name, EnumText<MessageState>.Write(state));
                    return name;
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
                        (SELECT first_seen FROM message WHERE account = $after_account AND folder = $after_folder AND source_key = $after_key),
                        $after_account, $after_folder, $after_key)
                    """);
                command.Parameters.AddWithValue("$after_account", after.Account);
                command.Parameters.AddWithValue("$after_folder", after.Folder);
                command.Parameters.AddWithValue("$after_key", after.SourceKey);
            }

            command.Parameters.AddWithValue("$limit", query.Limit);
            command.CommandText = $"""
                SELECT {MessageColumns} FROM message
                WHERE {string.Join("\n  AND ", where)}
                ORDER BY first_seen DESC, account DESC, folder DESC, source_key DESC
                LIMIT $limit;
                """;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var entries = new List<LedgerEntry>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                entries.Add(ReadEntry(reader));
            }

            return entries;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The condition on the stored security result (JSON <c>true</c>/<c>false</c> extract as 1/0, a JSON null as NULL).</summary>
    private static string SecurityCondition(SecurityOutcomeFilter outcome) => outcome switch
    {
        SecurityOutcomeFilter.Encrypted => "json_extract(security_json, '$.encryption.success') = 1",
        SecurityOutcomeFilter.DecryptFailed => "json_extract(security_json, '$.encryption.success') = 0",
        SecurityOutcomeFilter.Verified => "json_extract(security_json, '$.sign.success') = 1",
        SecurityOutcomeFilter.SignatureFailed => "json_extract(security_json, '$.sign.success') = 0",
        SecurityOutcomeFilter.Plain => "(security_json IS NOT NULL AND json_type(security_json, '$.sign') IS NOT 'object' AND json_type(security_json, '$.encryption') IS NOT 'object')",
        SecurityOutcomeFilter.SecurityFailed => "(json_extract(security_json, '$.sign.success') = 0 OR json_extract(security_json, '$.encryption.success') = 0)",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "not a security outcome"),
    };
}
