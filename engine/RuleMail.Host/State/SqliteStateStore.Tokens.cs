using static RuleMail.Host.State.SqliteValues;

namespace RuleMail.Host.State;

// The HTTP API's tokens: name, role and the token's SHA-256.
internal sealed partial class SqliteStateStore
{
    private const string TokenColumns = "name, role, token_sha256, created_at, revoked_at";

    /// <inheritdoc />
    public async Task<bool> AddTokenAsync(ApiToken token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        return await Gated(async () =>
        {
            // A revoked name may be given a new token; a live one is never replaced.
            await using var command = Command(
                $"""
                INSERT INTO api_token ({TokenColumns}) VALUES ($name, $role, $sha256, $created_at, NULL)
                ON CONFLICT (name) DO UPDATE SET
                    role = excluded.role, token_sha256 = excluded.token_sha256, created_at = excluded.created_at, revoked_at = NULL
                WHERE api_token.revoked_at IS NOT NULL;
                """,
                ("$name", token.Name),
                ("$role", EnumText<ApiRole>.Write(token.Role)),
                ("$sha256", token.Sha256),
                ("$created_at", WriteTime(token.CreatedAt)));
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<ApiToken?> FindTokenAsync(string sha256, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sha256);
        var found = await ReadTokensAsync("WHERE token_sha256 = $sha256", ("$sha256", sha256), cancellationToken).ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ApiToken>> TokensAsync(CancellationToken cancellationToken) =>
        ReadTokensAsync("ORDER BY name", null, cancellationToken);

    /// <inheritdoc />
    public async Task<bool> RevokeTokenAsync(string name, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        return await Gated(async () =>
        {
            await using var command = Command(
                "UPDATE api_token SET revoked_at = $at WHERE name = $name AND revoked_at IS NULL;",
                ("$name", name),
                ("$at", WriteTime(at)));
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<ApiToken>> ReadTokensAsync(
        string where, (string Name, object? Value)? parameter, CancellationToken cancellationToken) =>
        await Gated(async () =>
        {
            await using var command = parameter is { } p
                ? Command($"SELECT {TokenColumns} FROM api_token {where};", p)
                : Command($"SELECT {TokenColumns} FROM api_token {where};");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var tokens = new List<ApiToken>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                tokens.Add(new ApiToken(
                    reader.GetString(0),
                    EnumText<ApiRole>.Read(reader.GetString(1)),
                    reader.GetString(2),
                    ReadTime(reader.GetString(3)),
                    ReadNullableTime(reader, 4)));
            }

            return (IReadOnlyList<ApiToken>)tokens;
        }, cancellationToken).ConfigureAwait(false);
}
