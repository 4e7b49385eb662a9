using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Primitives;
using RuleMail.Host.State;
using RuleMail.Web.Problems;

namespace RuleMail.Web.Api;

/// <summary>
/// The ledger's query vocabulary (<c>GET /api/v1/messages</c>), read into a <see cref="LedgerPageQuery"/> with one
/// clear line for anything it does not know. <c>status</c> takes words, comma-separated or repeated: the seed's
/// outcomes of the security result (<see cref="SecurityWords"/>) and the ledger states (<see cref="StateWords"/>).
/// Words of one kind are alternatives; when both kinds are given, an entry must match one word of each
/// (<c>status=security-failed,retry</c>: failed security and waiting for another attempt).
/// </summary>
internal static class LedgerFilter
{
    /// <summary>The default page size.</summary>
    public const int DefaultLimit = 50;

    /// <summary>The largest page; a larger <c>limit</c> is capped to it.</summary>
    public const int MaxLimit = 500;

    /// <summary>The security outcomes, by the words the API and the ledger's <c>status</c> use.</summary>
    public static readonly IReadOnlyDictionary<string, SecurityOutcomeFilter> SecurityWords = new Dictionary<string, SecurityOutcomeFilter>(StringComparer.OrdinalIgnoreCase)
    {
        ["encrypted"] = SecurityOutcomeFilter.Encrypted,
        ["decrypt-failed"] = SecurityOutcomeFilter.DecryptFailed,
        ["signed"] = SecurityOutcomeFilter.Verified,
        ["signature-failed"] = SecurityOutcomeFilter.SignatureFailed,
        ["plain"] = SecurityOutcomeFilter.Plain,
        ["security-failed"] = SecurityOutcomeFilter.SecurityFailed,
    };

    /// <summary>The ledger states, by their words.</summary>
    public static readonly IReadOnlyDictionary<string, MessageState> StateWords =
        Enum.GetValues<MessageState>().ToDictionary(s => s.ToString().ToLowerInvariant(), s => s, StringComparer.OrdinalIgnoreCase);

    private static readonly string[] SinceFormats =
    [
        "yyyy-MM-dd",
        "yyyy-MM-dd'T'HH:mmK",
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
    ];

    /// <summary>The query the request's parameters ask for; a 400 problem naming what is wrong and what is allowed.</summary>
    /// <param name="after">The previous page's cursor, already resolved to its entry (null for the first page).</param>
    public static ProblemHttpResult? TryRead(
        string? account, StringValues status, string? since, string? limit, LedgerKey? after, out LedgerPageQuery query)
    {
        query = new LedgerPageQuery();
        var security = new HashSet<SecurityOutcomeFilter>();
        var states = new HashSet<MessageState>();
        foreach (var word in status.SelectMany(v => (v ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
        {
            if (SecurityWords.TryGetValue(word, out var outcome))
            {
                security.Add(outcome);
            }
            else if (StateWords.TryGetValue(word, out var state))
            {
                states.Add(state);
            }
            else
            {
                return Bad($"status: '{Shorten(word)}' is not known; use the security outcomes {string.Join(", ", SecurityWords.Keys)} and/or the states {string.Join(", ", StateWords.Keys)}, comma-separated");
            }
        }

        DateTimeOffset? from = null;
        if (since is not null)
        {
            if (!DateTimeOffset.TryParseExact(since, SinceFormats, CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
            {
                return Bad($"since: '{Shorten(since)}' is not an ISO-8601 date or time (2026-12-01, 2026-12-01T08:00:00Z, 2026-12-01T09:00:00+01:00)");
            }

            from = parsed;
        }

        var size = DefaultLimit;
        if (limit is not null)
        {
            if (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size < 1)
            {
                return Bad($"limit: '{Shorten(limit)}' is not a whole number from 1 to {MaxLimit}");
            }

            size = Math.Min(size, MaxLimit);
        }

        if (account is { Length: 0 })
        {
            return Bad("account: give an account's name, or leave it out for every account");
        }

        query = new LedgerPageQuery { Account = account, Security = security, States = states, Since = from, Limit = size, After = after };
        return null;
    }

    /// <summary>The seed's words for a stored security result (see <see cref="RuleMail.Json.LedgerMessageDocument.Status"/>).</summary>
    public static IReadOnlyList<string> Words(System.Text.Json.JsonElement? security)
    {
        if (security is not { ValueKind: System.Text.Json.JsonValueKind.Object } result)
        {
            return [];
        }

        var words = new List<string>();
        static bool? Success(System.Text.Json.JsonElement result, string name) =>
            result.TryGetProperty(name, out var outcome) && outcome.ValueKind == System.Text.Json.JsonValueKind.Object
            && outcome.TryGetProperty("success", out var success) && success.ValueKind is System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False
                ? success.GetBoolean()
                : null;

        if (Success(result, "encryption") is { } decrypted)
        {
            words.Add(decrypted ? "encrypted" : "decrypt-failed");
        }

        if (Success(result, "sign") is { } verified)
        {
            words.Add(verified ? "signed" : "signature-failed");
        }

        return words.Count == 0 ? ["plain"] : words;
    }

    /// <summary>A caller's value in a problem line, never longer than a line should be.</summary>
    public static string Shorten(string value) => value.Length <= 80 ? value : value[..80] + "…";

    private static ProblemHttpResult Bad(string detail) => ApiProblem.Result(StatusCodes.Status400BadRequest, detail);
}
