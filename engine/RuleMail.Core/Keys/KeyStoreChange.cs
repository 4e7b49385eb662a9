namespace RuleMail.Keys;

/// <summary>
/// What a <see cref="KeyStore.Reload"/> changed, entry by entry (by fingerprint): added, removed, and updated in place —
/// same fingerprint, but a private key, a revocation, a domain alias, a user ID or a subkey came or went.
/// </summary>
/// <param name="Entries">How many entries the store holds now.</param>
public sealed record KeyStoreChange(
    IReadOnlyList<KeyEntry> Added,
    IReadOnlyList<KeyEntry> Removed,
    IReadOnlyList<KeyEntry> Updated,
    int Entries)
{
    /// <summary>Nothing that lookups or private keys depend on changed.</summary>
    public bool IsEmpty => Added.Count == 0 && Removed.Count == 0 && Updated.Count == 0;

    /// <summary>For a log line: <c>1 added (S/MIME alice@example.org, SHA-256 fingerprint 5A3F…), 0 removed</c>.</summary>
    public override string ToString()
    {
        var parts = new List<string> { Count("added", Added), Count("removed", Removed) };
        if (Updated.Count > 0)
        {
            parts.Add(Count("updated", Updated));
        }

        return string.Join(", ", parts);
    }

    /// <summary>Compares the entries of two snapshots.</summary>
    internal static KeyStoreChange Between(IReadOnlyList<KeyEntry> before, IReadOnlyList<KeyEntry> after)
    {
        var old = before.ToDictionary(e => e.Fingerprint, StringComparer.Ordinal);
        var now = after.ToDictionary(e => e.Fingerprint, StringComparer.Ordinal);
        return new KeyStoreChange(
            [.. after.Where(e => !old.ContainsKey(e.Fingerprint))],
            [.. before.Where(e => !now.ContainsKey(e.Fingerprint))],
            [.. after.Where(e => old.TryGetValue(e.Fingerprint, out var was) && !Same(was, e))],
            after.Count);
    }

    private static string Count(string what, IReadOnlyList<KeyEntry> entries) =>
        entries.Count == 0 ? $"0 {what}" : $"{entries.Count} {what} ({string.Join("; ", entries.Select(Describe))})";

    private static string Describe(KeyEntry entry)
    {
        var who = KeyReferences.Who(entry);
        return entry.Kind switch
        {
            KeyKind.Pgp => $"OpenPGP {who}, OpenPGP fingerprint {entry.Fingerprint}",
            KeyKind.Crl => $"{who}, SHA-256 fingerprint {entry.Fingerprint}",
            _ => $"S/MIME {who}, SHA-256 fingerprint {entry.Fingerprint}",
        };
    }

    /// <summary>
    /// Whether an entry read again with the same fingerprint still means the same. The fingerprint covers a certificate's
    /// and a CRL's whole content; what lies beside it (a private key file, a CRL that revokes it, an OpenPGP key's
    /// user IDs, subkeys, signatures and settings) is compared here.
    /// </summary>
    private static bool Same(KeyEntry before, KeyEntry after) =>
        before.Kind == after.Kind
        && before.HasPrivateKey == after.HasPrivateKey
        && before.RevokedAt == after.RevokedAt
        && before.NotAfter == after.NotAfter
        && before.Usages == after.Usages
        && before.Addresses.SequenceEqual(after.Addresses, StringComparer.Ordinal)
        && (before, after) switch
        {
            (PgpKeyEntry a, PgpKeyEntry b) => a.DomainAlias == b.DomainAlias
                                              && a.UserIds.SequenceEqual(b.UserIds, StringComparer.Ordinal)
                                              && a.Keys.SequenceEqual(b.Keys),
            _ => true,
        };
}
