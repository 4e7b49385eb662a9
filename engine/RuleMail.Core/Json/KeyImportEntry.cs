using RuleMail.Keys;

namespace RuleMail.Json;

/// <summary>One entry an import touched: what happened to it, the file it came from, a note, and the entry as listed.</summary>
/// <param name="Change"><c>added</c>, <c>updated</c> (a private key, user IDs, subkeys or a revocation joined it) or <c>unchanged</c>.</param>
/// <param name="File">The name of the file it came from, as given.</param>
/// <param name="Note">A detail for the admin (paired with its private key, now a trust anchor, a revocation applied), or null.</param>
/// <param name="Key">The entry as <c>keys list --json</c> shows it.</param>
public sealed record KeyImportEntry(string Change, string File, string? Note, KeyListEntry Key)
{
    public static KeyImportEntry From(ImportedEntry imported, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(imported);
        return new KeyImportEntry(ChangeName(imported.Change), imported.Source, imported.Note, KeyListEntry.From(imported.Entry, now));
    }

    /// <summary>The contract's name of <paramref name="change"/>; the CLI prints the same words.</summary>
    public static string ChangeName(ImportChange change) => change switch
    {
        ImportChange.Added => "added",
        ImportChange.Updated => "updated",
        _ => "unchanged",
    };
}
