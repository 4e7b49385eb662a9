using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using RuleMail.Keys;
using RuleMail.Web.Problems;

namespace RuleMail.Web.Api;

/// <summary>
/// The entry a path's <c>{fingerprint}</c> names, by the rules of <see cref="KeyReferences"/> (the whole fingerprint,
/// a unique prefix of at least <see cref="KeyReferences.MinimumDigits"/> hex digits, or an OpenPGP long key ID; no
/// address in a path), as answers: only a unique match counts; several are a 409 naming them, none a 404.
/// </summary>
internal static class KeyReference
{
    /// <summary>The one entry <paramref name="reference"/> names, or the problem answer saying why there is none.</summary>
    public static KeyEntry? Find(KeyStore store, string reference, out ProblemHttpResult? refusal)
    {
        ArgumentNullException.ThrowIfNull(store);
        refusal = null;
        var wanted = KeyReferences.Normalize(reference);
        if (wanted is null)
        {
            refusal = ApiProblem.Result(StatusCodes.Status400BadRequest,
                $"a key is named by its fingerprint as GET /api/v1/keys shows it: {KeyReferences.MinimumDigits} to {KeyReferences.MaximumDigits} hex digits (a unique prefix, or an OpenPGP long key ID)");
            return null;
        }

        var matches = KeyReferences.Matches(store.Entries, wanted, e => e.Fingerprint, e => (e as PgpKeyEntry)?.KeyId);
        switch (matches.Count)
        {
            case 1:
                return matches[0];
            case 0:
                refusal = ApiProblem.Result(StatusCodes.Status404NotFound, $"no key store entry has the fingerprint {wanted} (GET /api/v1/keys lists them)");
                return null;
            default:
                var candidates = string.Join("; ", matches.Select(m => $"{KindOf(m)} {m.Fingerprint} ({KeyReferences.Who(m)})"));
                refusal = ApiProblem.Result(StatusCodes.Status409Conflict,
                    $"{wanted} names {matches.Count.ToString(CultureInfo.InvariantCulture)} entries: {candidates}; give the whole fingerprint");
                return null;
        }
    }

    /// <summary>The kind as the list names it, for one line about an entry.</summary>
    public static string KindOf(KeyEntry entry) => Json.KeyListEntry.KindName(entry.Kind);

}
