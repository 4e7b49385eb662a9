using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using RuleMail.Keys;
using RuleMail.Web.Problems;

namespace RuleMail.Web.Api;

/// <summary>
/// The entry a path's <c>{fingerprint}</c> names: the whole fingerprint as <c>keys list</c> shows it (SHA-256 for
/// certificates and CRLs, the OpenPGP fingerprint for keys), or — as <c>rulemail keys remove</c> takes it — a prefix of
/// at least <see cref="MinimumDigits"/> hex digits, or an OpenPGP key's long key ID (its <c>key_id</c>). Colons and
/// spaces are ignored, case does not matter. Only a unique match counts: several are a 409 naming them, none a 404.
/// </summary>
internal static class KeyReference
{
    /// <summary>The shortest prefix taken (64 bits: as many as a long key ID), so a guess cannot name an entry by chance.</summary>
    public const int MinimumDigits = 16;

    /// <summary>SHA-256 is the longest fingerprint there is (OpenPGP v6 has as many digits).</summary>
    private const int MaximumDigits = 64;

    /// <summary>The one entry <paramref name="reference"/> names, or the problem answer saying why there is none.</summary>
    public static KeyEntry? Find(KeyStore store, string reference, out ProblemHttpResult? refusal)
    {
        ArgumentNullException.ThrowIfNull(store);
        refusal = null;
        var wanted = Normalize(reference);
        if (wanted is null)
        {
            refusal = ApiProblem.Result(StatusCodes.Status400BadRequest,
                $"a key is named by its fingerprint as GET /api/v1/keys shows it: {MinimumDigits} to {MaximumDigits} hex digits (a unique prefix, or an OpenPGP long key ID)");
            return null;
        }

        var matches = Matches(store.Entries, wanted, e => e.Fingerprint, e => (e as PgpKeyEntry)?.KeyId);
        switch (matches.Count)
        {
            case 1:
                return matches[0];
            case 0:
                refusal = ApiProblem.Result(StatusCodes.Status404NotFound, $"no key store entry has the fingerprint {wanted} (GET /api/v1/keys lists them)");
                return null;
            default:
                var candidates = string.Join("; ", matches.Select(m => $"{KindOf(m)} {m.Fingerprint} ({Who(m)})"));
                refusal = ApiProblem.Result(StatusCodes.Status409Conflict,
                    $"{wanted} names {matches.Count.ToString(CultureInfo.InvariantCulture)} entries: {candidates}; give the whole fingerprint");
                return null;
        }
    }

    /// <summary>
    /// What a normalized <paramref name="wanted"/> names: the entry with that very fingerprint; else every entry whose
    /// fingerprint starts with it or whose OpenPGP long key ID it is.
    /// </summary>
    internal static List<T> Matches<T>(IEnumerable<T> entries, string wanted, Func<T, string> fingerprint, Func<T, string?> keyId)
    {
        var all = entries.ToList();
        var exact = all.Where(e => fingerprint(e) == wanted).ToList();
        return exact.Count > 0
            ? exact
            : [.. all.Where(e => fingerprint(e).StartsWith(wanted, StringComparison.Ordinal) || string.Equals(keyId(e), wanted, StringComparison.OrdinalIgnoreCase))];
    }

    /// <summary>The kind as the list names it, for one line about an entry.</summary>
    public static string KindOf(KeyEntry entry) => Json.KeyListEntry.KindName(entry.Kind);

    /// <summary>The addresses of an entry, or its name when it serves none (a CA, a CRL), for one line about it.</summary>
    public static string Who(KeyEntry entry) => entry.Addresses.Count > 0 ? string.Join(", ", entry.Addresses) : entry.DisplayName;

    /// <summary>Upper-case hex digits without separators (and without a key ID's <c>0x</c>); null when it is not that.</summary>
    internal static string? Normalize(string? reference)
    {
        if (reference is null)
        {
            return null;
        }

        var digits = reference.Replace(":", string.Empty, StringComparison.Ordinal).Replace(" ", string.Empty, StringComparison.Ordinal);
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            digits = digits[2..];
        }

        return digits.Length is >= MinimumDigits and <= MaximumDigits && digits.All(char.IsAsciiHexDigit) ? digits.ToUpperInvariant() : null;
    }
}
