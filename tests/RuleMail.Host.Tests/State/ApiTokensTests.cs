using Microsoft.Extensions.Time.Testing;
using RuleMail.Core.Tests.Support;
using RuleMail.Host.State;

namespace RuleMail.Host.Tests.State;

/// <summary>The HTTP API's tokens in the SQLite state: only the SHA-256 is kept; a live name is never replaced; revoked means refused.</summary>
public sealed class ApiTokensTests : IAsyncLifetime, IDisposable
{
    private static readonly CancellationToken Ct = CancellationToken.None;
    private readonly TempDirectory _dir = new("tokens");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 4, 10, 0, 0, TimeSpan.Zero));
    private SqliteStateStore _store = null!;
    private ApiTokens _tokens = null!;

    public async Task InitializeAsync()
    {
        _store = await SqliteStateStore.OpenAsync(_dir.File("state.db"), Ct);
        _tokens = new ApiTokens(_store, _time);
    }

    public async Task DisposeAsync()
    {
        await _tokens.DisposeAsync();
        await _store.DisposeAsync();
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_token_is_random_prefixed_and_stored_only_as_its_hash()
    {
        var (token, secret) = await _tokens.CreateAsync("zammad", ApiRole.Agent, Ct);
        var (_, other) = await _tokens.CreateAsync("otrs", ApiRole.Agent, Ct);

        Assert.StartsWith(ApiTokens.Prefix, secret, StringComparison.Ordinal);
        Assert.Equal(ApiTokens.Prefix.Length + 43, secret.Length);
        Assert.NotEqual(secret, other);
        Assert.Equal(ApiTokens.Hash(secret), token.Sha256);
        Assert.Equal(token, await _tokens.AuthenticateAsync(secret, Ct));
        await _store.DisposeAsync();
        var file = await File.ReadAllBytesAsync(_dir.File("state.db"));
        var wal = File.Exists(_dir.File("state.db-wal")) ? await File.ReadAllBytesAsync(_dir.File("state.db-wal")) : [];
        Assert.Equal(-1, IndexOf(file, secret) + IndexOf(wal, secret) + 1);
        _store = await SqliteStateStore.OpenAsync(_dir.File("state.db"), Ct);
    }

    [Fact]
    public async Task A_live_name_is_not_replaced_but_a_revoked_one_gets_a_new_token()
    {
        var (_, first) = await _tokens.CreateAsync("zammad", ApiRole.Viewer, Ct);
        var again = await Assert.ThrowsAsync<RuleMailException>(() => _tokens.CreateAsync("zammad", ApiRole.Admin, Ct));
        Assert.Equal("zammad: a token of that name exists; revoke it first (rulemail tokens revoke zammad)", again.Message);

        _time.Advance(TimeSpan.FromHours(1));
        await _tokens.RevokeAsync("zammad", Ct);
        Assert.Null(await _tokens.AuthenticateAsync(first, Ct));
        var listed = Assert.Single(await _tokens.ListAsync(Ct));
        Assert.Equal(_time.GetUtcNow(), listed.RevokedAt);

        var (renewed, second) = await _tokens.CreateAsync("zammad", ApiRole.Admin, Ct);
        Assert.Equal(ApiRole.Admin, (await _tokens.AuthenticateAsync(second, Ct))?.Role);
        Assert.Null(await _tokens.AuthenticateAsync(first, Ct));
        Assert.Null(renewed.RevokedAt);
    }

    [Theory]
    [InlineData("")]
    [InlineData("rmt_")]
    [InlineData("Bearer rmt_abc")]
    [InlineData("rmt_' OR 1=1 --")]
    [InlineData("not-a-rulemail-token-at-all")]
    public async Task Anything_else_is_refused(string presented)
    {
        await _tokens.CreateAsync("zammad", ApiRole.Admin, Ct);

        Assert.Null(await _tokens.AuthenticateAsync(presented, Ct));
    }

    [Theory]
    [InlineData("")]
    [InlineData("-leading-dash")]
    [InlineData("white space")]
    [InlineData("semi;colon")]
    public async Task A_name_that_is_not_a_token_name_is_refused(string name)
    {
        await Assert.ThrowsAsync<RuleMailException>(() => _tokens.CreateAsync(name, ApiRole.Viewer, Ct));
    }

    [Fact]
    public async Task Revoking_an_unknown_name_says_so()
    {
        var error = await Assert.ThrowsAsync<RuleMailException>(() => _tokens.RevokeAsync("nobody", Ct));

        Assert.Equal("nobody: no live token has that name (rulemail tokens list shows them)", error.Message);
    }

    private static int IndexOf(byte[] haystack, string needle) =>
        haystack.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(needle));
}
