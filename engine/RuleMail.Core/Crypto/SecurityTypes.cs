using System.Diagnostics.CodeAnalysis;

namespace RuleMail.Crypto;

/// <summary>
/// The one parser and the two spellings of <see cref="SecurityType"/>: the contract's (<c>S/MIME</c>, <c>PGP</c>, in the
/// security result and the composer options) and the key's (<c>smime</c>, <c>pgp</c>, in rules, the config, the CLI and
/// the <c>X-RuleMail-Type</c> header).
/// </summary>
public static class SecurityTypes
{
    /// <summary><c>S/MIME</c> or <c>PGP</c>, as the contracts write it.</summary>
    public static string Name(this SecurityType type) => type == SecurityType.Pgp ? SecurityResult.PgpType : SecurityResult.SmimeType;

    /// <summary><c>smime</c> or <c>pgp</c>, as rules, the config and the command line write it.</summary>
    public static string Key(this SecurityType type) => type == SecurityType.Pgp ? "pgp" : "smime";

    /// <summary>
    /// Reads either spelling, trimmed and in any case (<c>smime</c>, <c>S/MIME</c>, <c>pgp</c>, <c>OpenPGP</c>); false for
    /// anything else, so a misspelt type is an error, never a default.
    /// </summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out SecurityType type)
    {
        switch (text?.Trim().ToUpperInvariant())
        {
            case "SMIME" or "S/MIME":
                type = SecurityType.Smime;
                return true;
            case "PGP" or "OPENPGP":
                type = SecurityType.Pgp;
                return true;
            default:
                type = default;
                return false;
        }
    }
}
