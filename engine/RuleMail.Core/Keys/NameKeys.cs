using System.Text;
using Org.BouncyCastle.Asn1.X509;

namespace RuleMail.Keys;

/// <summary>
/// A coarse key for an X.509 name: its values, lower-cased, letters and digits only, sorted. Two names that
/// BouncyCastle's <see cref="X509Name.Equivalent(X509Name)"/> calls equivalent always get the same key (it compares
/// values lower-cased and trimmed, with inner spaces collapsed, in any order), so an index on it finds every candidate;
/// the candidates are then confirmed with <c>Equivalent</c> itself. A hex-encoded value (<c>#...</c>) gets
/// <see cref="Any"/>: it is always a candidate.
/// </summary>
internal static class NameKeys
{
    public const string Any = "*";

    public static string Of(X509Name name)
    {
        var values = new List<string>();
        foreach (var value in name.GetValueList())
        {
            var trimmed = value.Trim();
            if (trimmed.StartsWith('#'))
            {
                return Any;
            }

            var kept = new StringBuilder(trimmed.Length);
            foreach (var c in trimmed.ToLowerInvariant())
            {
                if (char.IsLetterOrDigit(c))
                {
                    _ = kept.Append(c);
                }
            }

            values.Add(kept.ToString());
        }

        values.Sort(StringComparer.Ordinal);
        return string.Join('|', values);
    }
}
