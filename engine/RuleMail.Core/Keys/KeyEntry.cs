namespace RuleMail.Keys;

/// <summary>
/// One entry of the key store: an S/MIME certificate, an OpenPGP key or a CRL.
/// Entries are immutable snapshots; the store replaces them on import and remove.
/// </summary>
public abstract class KeyEntry
{
    private protected KeyEntry(string fingerprint, IReadOnlyList<string> addresses, DateTimeOffset notBefore, DateTimeOffset? notAfter)
    {
        Fingerprint = fingerprint;
        Addresses = addresses;
        NotBefore = notBefore;
        NotAfter = notAfter;
    }

    public abstract KeyKind Kind { get; }

    /// <summary>Upper-case hex: SHA-256 of the DER for certificates and CRLs, the v4 fingerprint for OpenPGP keys.</summary>
    public string Fingerprint { get; }

    /// <summary>Lower-case e-mail addresses this entry serves (verified, not revoked).</summary>
    public IReadOnlyList<string> Addresses { get; }

    public DateTimeOffset NotBefore { get; }

    /// <summary>End of validity, or null when the entry never expires.</summary>
    public DateTimeOffset? NotAfter { get; }

    public abstract bool HasPrivateKey { get; }

    /// <summary>What the entry may be used for, whatever the time.</summary>
    public abstract KeyUsages Usages { get; }

    /// <summary>A one-line human name: subject, primary user ID or CRL issuer.</summary>
    public abstract string DisplayName { get; }

    /// <summary>When the entry was revoked, if it was (revocation applies from then on).</summary>
    public abstract DateTimeOffset? RevokedAt { get; }

    public KeyStatus StatusAt(DateTimeOffset now)
    {
        if (RevokedAt is { } revoked && revoked <= now)
        {
            return KeyStatus.Revoked;
        }

        if (now < NotBefore)
        {
            return KeyStatus.NotYetValid;
        }

        return NotAfter is { } notAfter && now > notAfter ? KeyStatus.Expired : KeyStatus.Valid;
    }

    /// <summary>What the entry may be used for at <paramref name="now"/>: nothing unless it is valid then.</summary>
    public virtual KeyUsages UsagesAt(DateTimeOffset now) => StatusAt(now) == KeyStatus.Valid ? Usages : KeyUsages.None;
}
