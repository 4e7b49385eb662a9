using RuleMail.Core.Tests.Support;
using RuleMail.Host.State;

namespace RuleMail.Host.Tests.State;

/// <summary>
/// The API tokens in the SQLite store. The per-request lookup reads on a connection of its own
/// (<see cref="SqliteTokenReader"/>), so these pin that it sees every commit before it — its own store's and another
/// connection's, as <c>rulemail tokens</c> in another process makes them — and that it is safe to share.
/// </summary>
public sealed class SqliteTokenStoreTests
{
    private static readonly CancellationToken Ct = CancellationToken.None;
    private static readonly DateTimeOffset T0 = new(2026, 12, 4, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_token_made_or_revoked_through_another_connection_is_seen_by_the_next_lookup()
    {
        using var dir = new TempDirectory("state");
        var path = dir.File("state.db");
        await using var service = await SqliteStateStore.OpenAsync(path, Ct);
        await using var cli = await SqliteStateStore.OpenAsync(path, Ct);
        var token = Token("zammad", 'a');

        // The first lookup opens the reader; it must not keep the answer (or a snapshot) it read then.
        Assert.Null(await service.FindTokenAsync(token.Sha256, Ct));
        Assert.True(await cli.AddTokenAsync(token, Ct));
        Assert.Equal(token, await service.FindTokenAsync(token.Sha256, Ct));

        Assert.True(await cli.RevokeTokenAsync("zammad", T0.AddHours(1), Ct));
        Assert.Equal(T0.AddHours(1), (await service.FindTokenAsync(token.Sha256, Ct))?.RevokedAt);
    }

    [Fact]
    public async Task A_token_revoked_through_the_same_store_is_seen_revoked_by_the_next_lookup()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        var token = Token("ticket-system", 'b');
        Assert.True(await store.AddTokenAsync(token, Ct));
        Assert.False((await store.FindTokenAsync(token.Sha256, Ct))!.IsRevoked);

        Assert.True(await store.RevokeTokenAsync("ticket-system", T0.AddMinutes(5), Ct));

        Assert.True((await store.FindTokenAsync(token.Sha256, Ct))!.IsRevoked);
        Assert.True((await store.TokensAsync(Ct)).Single().IsRevoked);
    }

    [Fact]
    public async Task Concurrent_lookups_beside_writes_each_find_their_own_token()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        var tokens = "abcdefgh".Select((c, i) => Token($"t{i}", c)).ToList();
        foreach (var token in tokens)
        {
            Assert.True(await store.AddTokenAsync(token, Ct));
        }

        var readers = tokens.Select(token => Task.Run(async () =>
        {
            for (var i = 0; i < 200; i++)
            {
                Assert.Equal(token, await store.FindTokenAsync(token.Sha256, Ct));
                Assert.Null(await store.FindTokenAsync(new string('0', 64), Ct));
            }
        }));
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                Assert.True(await store.AddTokenAsync(Token($"extra{i}", 'z') with { Sha256 = $"{i + 1:D64}" }, Ct));
            }
        });
        await Task.WhenAll([.. readers, writer]);

        Assert.Equal(tokens.Count + 50, (await store.TokensAsync(Ct)).Count);
    }

    [Fact]
    public async Task A_disposed_store_refuses_lookups_whether_or_not_it_had_looked_one_up()
    {
        using var dir = new TempDirectory("state");
        var used = await SqliteStateStore.OpenAsync(dir.File("used.db"), Ct);
        Assert.Null(await used.FindTokenAsync(new string('1', 64), Ct));
        var unused = await SqliteStateStore.OpenAsync(dir.File("unused.db"), Ct);
        await used.DisposeAsync();
        await unused.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => used.FindTokenAsync(new string('1', 64), Ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => unused.FindTokenAsync(new string('1', 64), Ct));
    }

    private static ApiToken Token(string name, char hash) => new(name, ApiRole.Agent, new string(hash, 64), T0, RevokedAt: null);
}
