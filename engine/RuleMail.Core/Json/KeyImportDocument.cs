using RuleMail.Keys;

namespace RuleMail.Json;

/// <summary>
/// What an import did (<c>POST /api/v1/keys</c>): every entry it touched, with the file it came from, and the seed's
/// warning to verify each fingerprint with its owner before relying on it.
/// </summary>
public sealed record KeyImportDocument(IReadOnlyList<KeyImportEntry> Imported, string Warning)
{
    /// <summary>The seed's warning after an import, word for word.</summary>
    public const string VerifyWarning = "🕵️ ALWAYS verify certificates in-person or over the phone!";

    /// <summary>The entries of <paramref name="imported"/>, each with its status at <paramref name="now"/>.</summary>
    public static KeyImportDocument From(IEnumerable<ImportedEntry> imported, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(imported);
        return new KeyImportDocument([.. imported.Select(i => KeyImportEntry.From(i, now))], VerifyWarning);
    }
}
