using Npgsql;

namespace RuleMail.Host.State;

// The HTTP API's tokens: name, role and the token's SHA-256.
internal sealed partial class PostgresStateStore
{
    private const string TokenColumns = "name, role, token_sha256, created_at, revoked_at";

    /// <inheritdoc />
    public Task<bool> AddTokenAsync(ApiToken token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        return WriteAsync(
            async (connection, transaction) =>
            {
                // A revoked name may be given a new token; a live one is never replaced (0 rows: the WHERE refused it).
                var written = await ExecuteAsync(
                    connection,
                    transaction,
                    $"""
                    INSERT INTO api_token ({TokenColumns}) VALUES (@name, @role, @sha256, @created_at, NULL)
                    ON CONFLICT (name) DO UPDATE SET
                        role = excluded.role, token_sha256 = excluded.token_sha256, created_at = excluded.created_at, revoked_at = NULL
                    WHERE api_token.revoked_at IS NOT NULL;
                    """,
                    cancellationToken,
                    ("name", token.Name),
                    ("role", EnumText<ApiRole>.Write(token.Role)),
                    ("sha256", token.Sha256),
                    ("created_at", Ticks(token.CreatedAt))).ConfigureAwait(false);
                return written == 1;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>A read on a pooled connection like any other: it sees every commit made before it, by any node.</remarks>
    public async Task<ApiToken?> FindTokenAsync(string sha256, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sha256);
        var rows = await ReadListAsync(
            $"SELECT {TokenColumns} FROM api_token WHERE token_sha256 = @sha256;", ReadToken, cancellationToken, ("sha256", sha256))
            .ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ApiToken>> TokensAsync(CancellationToken cancellationToken) =>
        ReadListAsync($"SELECT {TokenColumns} FROM api_token ORDER BY name;", ReadToken, cancellationToken);

    /// <inheritdoc />
    public Task<bool> RevokeTokenAsync(string name, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        return WriteAsync(
            async (connection, transaction) => await ExecuteAsync(
                connection,
                transaction,
                "UPDATE api_token SET revoked_at = @at WHERE name = @name AND revoked_at IS NULL;",
                cancellationToken,
                ("name", name),
                ("at", Ticks(at))).ConfigureAwait(false) == 1,
            cancellationToken);
    }

    private static ApiToken ReadToken(NpgsqlDataReader reader) => new(
        reader.GetString(0),
        EnumText<ApiRole>.Read(reader.GetString(1)),
        reader.GetString(2),
        ReadTime(reader, 3),
        ReadNullableTime(reader, 4));
}
