namespace RuleMail.Keys;

/// <summary>
/// How people name a key store entry (the CLI's <c>keys remove</c>, the API's <c>/keys/{fingerprint}</c>): its whole
/// fingerprint as <c>keys list</c> shows it, a prefix of at least <see cref="MinimumDigits"/> hex digits, or an OpenPGP
/// long key ID (with or without <c>0x</c>); colons and spaces are ignored, case does not matter. The CLI also takes an
/// address. Only a unique match may be acted on; callers say which entries a reference names when it names several.
/// </summary>
public static class KeyReferences
{
    /// <summary>The shortest prefix taken (64 bits: as many as a long key ID), so a guess cannot name an entry by chance.</summary>
    public const int MinimumDigits = 16;

    /// <summary>SHA-256 is the longest fingerprint there is (OpenPGP v6 has as many digits).</summary>
    public const int MaximumDigits = 64;

    /// <summary>Upper-case hex digits without separators (and without a key ID's <c>0x</c>); null when it is not that.</summary>
    public static string? Normalize(string? reference)
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

    /// <summary>
    /// What a normalized <paramref name="wanted"/> names: the entry with that very fingerprint; else every entry whose
    /// fingerprint starts with it or whose OpenPGP long key ID it is.
    /// </summary>
    public static List<T> Matches<T>(IEnumerable<T> entries, string wanted, Func<T, string> fingerprint, Func<T, string?> keyId)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        ArgumentNullException.ThrowIfNull(keyId);
        var all = entries.ToList();
        var exact = all.Where(e => fingerprint(e) == wanted).ToList();
        return exact.Count > 0
            ? exact
            : [.. all.Where(e => fingerprint(e).StartsWith(wanted, StringComparison.Ordinal) || string.Equals(keyId(e), wanted, StringComparison.OrdinalIgnoreCase))];
    }

    /// <summary>The addresses of an entry, or its name when it serves none (a CA, a CRL), for one line about it.</summary>
    public static string Who(KeyEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return entry.Addresses.Count > 0 ? string.Join(", ", entry.Addresses) : entry.DisplayName;
    }

    /// <summary>
    /// The entries <paramref name="reference"/> names: by address when it holds an <c>@</c> (every entry serving that
    /// address), else as <see cref="Matches{T}"/>; null when it is neither an address nor hex digits enough.
    /// </summary>
    public static List<KeyEntry>? Find(IEnumerable<KeyEntry> entries, string reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (reference.Contains('@', StringComparison.Ordinal))
        {
            return [.. entries.Where(e => e.Addresses.Contains(reference.Trim(), StringComparer.OrdinalIgnoreCase))];
        }

        return Normalize(reference) is { } wanted ? Matches(entries, wanted, e => e.Fingerprint, e => (e as PgpKeyEntry)?.KeyId) : null;
    }
}
