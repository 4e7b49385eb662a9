using RuleMail.Keys;

namespace RuleMail.Json;

/// <summary>What <c>rulemail keys list --json</c> prints: the key store's folder and every entry in it.</summary>
public sealed record KeyListDocument(string Keystore, IReadOnlyList<KeyListEntry> Keys)
{
    /// <summary>Every entry of <paramref name="store"/>, with its status at <paramref name="now"/>.</summary>
    public static KeyListDocument From(KeyStore store, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(store);
        return new KeyListDocument(store.Directory, [.. store.Entries.Select(e => KeyListEntry.From(e, now))]);
    }
}
