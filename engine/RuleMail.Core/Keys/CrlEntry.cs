using Org.BouncyCastle.X509;

namespace RuleMail.Keys;

/// <summary>
/// A certificate revocation list the admin imported. Its signature was checked against its issuer
/// in the store at import; it revokes that issuer's certificates listed in it.
/// </summary>
public sealed class CrlEntry : KeyEntry
{
    private CrlEntry(X509Crl crl, byte[] encoded)
        : base(
            Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(encoded)),
            [],
            new DateTimeOffset(crl.ThisUpdate, TimeSpan.Zero),
            crl.NextUpdate is { } next ? new DateTimeOffset(next, TimeSpan.Zero) : null)
    {
        Crl = crl;
        Encoded = encoded;
    }

    public override KeyKind Kind => KeyKind.Crl;

    internal X509Crl Crl { get; }

    internal byte[] Encoded { get; }

    public string Issuer => Crl.IssuerDN.ToString();

    public int RevokedCount => Crl.GetRevokedCertificates()?.Count ?? 0;

    public override bool HasPrivateKey => false;

    public override KeyUsages Usages => KeyUsages.None;

    public override DateTimeOffset? RevokedAt => null;

    public override string DisplayName => $"CRL of {Issuer}";

    internal static CrlEntry Create(byte[] encoded) => new(new X509CrlParser().ReadCrl(encoded), encoded);

    /// <summary>When this CRL says <paramref name="certificate"/> was revoked, or null.</summary>
    internal DateTimeOffset? RevocationOf(SmimeCertificateEntry certificate)
    {
        if (!Crl.IssuerDN.Equivalent(certificate.Parsed.IssuerDN))
        {
            return null;
        }

        var entry = Crl.GetRevokedCertificate(certificate.Parsed.SerialNumber);
        return entry is null ? null : new DateTimeOffset(entry.RevocationDate, TimeSpan.Zero);
    }
}
