using static RuleMail.Host.State.SqliteValues;

namespace RuleMail.Host.State;

// The HTTP API's tokens: name, role and the token's SHA-256.
internal sealed partial class SqliteStateStore
{
    private const string TokenColumns = "name, role, token_sha256, created_at, revoked_at";

    private readonly Lock _tokenReaderLock = new();

    /// <summary>The per-request token lookup's own connection (<see cref="SqliteTokenReader"/>), opened at the first lookup.</summary>
    private SqliteTokenReader? _tokenReader;

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
    /// <remarks>
    /// Every API request asks this, so it does not take the store's gate: it reads on its own connection, beside the
    /// ledger's writes, and sees every commit made before it (<see cref="SqliteTokenReader"/>). It completes synchronously,
    /// as Microsoft.Data.Sqlite's asynchronous calls do anyway.
    /// </remarks>
    public Task<ApiToken?> FindTokenAsync(string sha256, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sha256);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(TokenReader().Find(sha256));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ApiToken>> TokensAsync(CancellationToken cancellationToken) =>
        await Gated(async () =>
        {
            await using var command = Command($"SELECT {TokenColumns} FROM api_token ORDER BY name;");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var tokens = new List<ApiToken>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                tokens.Add(SqliteTokenReader.Token(reader));
            }

            return (IReadOnlyList<ApiToken>)tokens;
        }, cancellationToken).ConfigureAwait(false);

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

    private SqliteTokenReader TokenReader()
    {
        if (Volatile.Read(ref _tokenReader) is { } open)
        {
            return open;
        }

        lock (_tokenReaderLock)
        {
            ThrowIfDisposed();
            return _tokenReader ??= SqliteTokenReader.Open(Path, BusyTimeoutMilliseconds, TokenColumns);
        }
    }

    /// <summary>Closes the token lookup's connection (before the store's own: <see cref="DisposeAsync"/>).</summary>
    private void CloseTokenReader()
    {
        lock (_tokenReaderLock)
        {
            _tokenReader?.Dispose();
        }
    }
}
