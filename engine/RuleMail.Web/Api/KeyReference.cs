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
    /// <inheritdoc cref="KeyReferences.MinimumDigits"/>
    public const int MinimumDigits = KeyReferences.MinimumDigits;

    private const int MaximumDigits = KeyReferences.MaximumDigits;

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

    /// <inheritdoc cref="KeyReferences.Matches{T}"/>
    internal static List<T> Matches<T>(IEnumerable<T> entries, string wanted, Func<T, string> fingerprint, Func<T, string?> keyId) =>
        KeyReferences.Matches(entries, wanted, fingerprint, keyId);

    /// <summary>The kind as the list names it, for one line about an entry.</summary>
    public static string KindOf(KeyEntry entry) => Json.KeyListEntry.KindName(entry.Kind);

    /// <summary>The addresses of an entry, or its name when it serves none (a CA, a CRL), for one line about it.</summary>
    public static string Who(KeyEntry entry) => entry.Addresses.Count > 0 ? string.Join(", ", entry.Addresses) : entry.DisplayName;

    /// <inheritdoc cref="KeyReferences.Normalize"/>
    internal static string? Normalize(string? reference) => KeyReferences.Normalize(reference);
}
