namespace RuleMail.Keys;

/// <summary>One entry an import touched, with the file it came from.</summary>
/// <param name="Note">Extra detail for the admin (a private key paired, a revocation applied, a trust anchor added).</param>
public sealed record ImportedEntry(KeyEntry Entry, ImportChange Change, string Source, string? Note);
