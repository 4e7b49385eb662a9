namespace RuleMail.Keys;

/// <summary>One key of an OpenPGP key ring (the primary key or a subkey) with its verified self-signature data.</summary>
/// <param name="Expires">Null when the key does not expire.</param>
/// <param name="RevokedAt">When a verified revocation signature was made, if any.</param>
public sealed record PgpSubkey(
    string Fingerprint,
    string KeyId,
    string Algorithm,
    DateTimeOffset Created,
    DateTimeOffset? Expires,
    KeyUsages Usages,
    DateTimeOffset? RevokedAt,
    bool HasSecretKey,
    bool IsPrimary)
{
    public bool IsValidAt(DateTimeOffset now) =>
        !(RevokedAt <= now) && Created <= now && !(Expires < now);
}
