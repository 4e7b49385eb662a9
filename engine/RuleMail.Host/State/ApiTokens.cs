using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using RuleMail.Host.Configuration;

namespace RuleMail.Host.State;

/// <summary>
/// The HTTP API's bearer tokens: made (the token is returned once and never stored: the state keeps its SHA-256),
/// listed, revoked and checked. A token is <c>rmt_</c> and 43 characters of base64url (256 random bits), so it
/// cannot be guessed and a scanner can tell it from other secrets. Thread-safe.
/// </summary>
public sealed partial class ApiTokens : IAsyncDisposable
{
    /// <summary>What every RuleMail token starts with.</summary>
    public const string Prefix = "rmt_";

    private readonly IStateStore _state;
    private readonly TimeProvider _time;
    private readonly bool _ownsState;

    public ApiTokens(IStateStore state, TimeProvider time)
        : this(state, time, ownsState: false)
    {
    }

    private ApiTokens(IStateStore state, TimeProvider time, bool ownsState)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(time);
        _state = state;
        _time = time;
        _ownsState = ownsState;
    }

    /// <summary>
    /// The tokens of <paramref name="config"/>'s state, opened beside a host that may be running on it (tokens are
    /// not part of the ledger the host lock protects), for <c>rulemail tokens</c>.
    /// </summary>
    /// <exception cref="RuleMailException">The state database cannot be opened.</exception>
    public static async Task<ApiTokens> OpenAsync(RuleMailConfig config, TimeProvider time, Func<string, string?> environment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        var state = await StateStores.OpenAsync(config, environment, exclusive: false, cancellationToken).ConfigureAwait(false);
        return new ApiTokens(state, time, ownsState: true);
    }

    /// <summary>Makes a token; the returned secret is the only copy.</summary>
    /// <exception cref="RuleMailException">The name is not a token name, or a live token has it.</exception>
    public async Task<(ApiToken Token, string Secret)> CreateAsync(string name, ApiRole role, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!TokenName().IsMatch(name))
        {
            throw new RuleMailException($"{name}: a token name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }

        var secret = Prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var token = new ApiToken(name, role, Hash(secret), _time.GetUtcNow(), RevokedAt: null);
        if (!await _state.AddTokenAsync(token, cancellationToken).ConfigureAwait(false))
        {
            throw new RuleMailException($"{name}: a token of that name exists; revoke it first (rulemail tokens revoke {name})");
        }

        return (token, secret);
    }

    /// <summary>Every token, revoked ones too, by name.</summary>
    public Task<IReadOnlyList<ApiToken>> ListAsync(CancellationToken cancellationToken) => _state.TokensAsync(cancellationToken);

    /// <summary>Revokes the named token at once: the next request with it is refused.</summary>
    /// <exception cref="RuleMailException">No live token has that name.</exception>
    public async Task RevokeAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!await _state.RevokeTokenAsync(name, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
        {
            throw new RuleMailException($"{name}: no live token has that name (rulemail tokens list shows them)");
        }
    }

    /// <summary>The live token <paramref name="presented"/> is, or null (unknown, malformed or revoked).</summary>
    public async Task<ApiToken?> AuthenticateAsync(string presented, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(presented);
        if (presented.Length is < 8 or > 256 || !presented.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        return await FindLiveAsync(Hash(presented), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The live token whose SHA-256 is <paramref name="sha256"/>, or null (unknown or revoked): the web UI's session check.</summary>
    public async Task<ApiToken?> FindLiveAsync(string sha256, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sha256);
        var token = await _state.FindTokenAsync(sha256, cancellationToken).ConfigureAwait(false);
        return token is { IsRevoked: false } ? token : null;
    }

    /// <summary>The SHA-256 of a token as the state keeps it, lowercase hex.</summary>
    public static string Hash(string token) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public async ValueTask DisposeAsync()
    {
        if (_ownsState)
        {
            await _state.DisposeAsync().ConfigureAwait(false);
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex TokenName();
}
