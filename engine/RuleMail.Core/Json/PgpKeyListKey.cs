using RuleMail.Keys;

namespace RuleMail.Json;

/// <summary>One key of an OpenPGP key ring (the primary key or a subkey) in <c>keys list --json</c>.</summary>
/// <param name="Expires">Null (written) when the key does not expire.</param>
/// <param name="RevokedAt">Null (written) unless a verified revocation was made.</param>
public sealed record PgpKeyListKey(
    string Fingerprint,
    string KeyId,
    bool Primary,
    string Algorithm,
    DateTimeOffset Created,
    DateTimeOffset? Expires,
    IReadOnlyList<string> Usages,
    DateTimeOffset? RevokedAt,
    bool HasSecretKey)
{
    public static PgpKeyListKey From(PgpSubkey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new PgpKeyListKey(
            key.Fingerprint, key.KeyId, key.IsPrimary, key.Algorithm, key.Created, key.Expires,
            KeyListEntry.UsageNames(key.Usages), key.RevokedAt, key.HasSecretKey);
    }
}
