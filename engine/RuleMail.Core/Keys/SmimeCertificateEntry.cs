using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1.X509;
using BcCertificate = Org.BouncyCastle.X509.X509Certificate;

namespace RuleMail.Keys;

/// <summary>
/// An X.509 certificate in the store. A CA certificate the admin imported is a trust anchor.
/// The private key, when held, stays encrypted on disk; <see cref="KeyStore"/> opens it on demand.
/// </summary>
public sealed class SmimeCertificateEntry : KeyEntry
{
    private const string EmailProtectionOid = "1.3.6.1.5.5.7.3.4";
    private const string AnyExtendedKeyUsageOid = "2.5.29.37.0";

    private readonly Lazy<X509Certificate2> _certificate;
    private readonly Lazy<BcCertificate> _parsed;

    private SmimeCertificateEntry(SmimeFacts facts, Lazy<X509Certificate2> certificate, Lazy<BcCertificate> parsed, bool hasPrivateKey, DateTimeOffset? revokedAt)
        : base(facts.Fingerprint, facts.Addresses, facts.NotBefore, facts.NotAfter)
    {
        Facts = facts;
        _certificate = certificate;
        _parsed = parsed;
        HasPrivateKey = hasPrivateKey;
        RevokedAt = revokedAt;
    }

    public override KeyKind Kind => KeyKind.Smime;

    /// <summary>The certificate, for System.Security.Cryptography (never carries the private key); parsed on first use.</summary>
    public X509Certificate2 Certificate => _certificate.Value;

    /// <summary>The same certificate parsed by BouncyCastle; parsed on first use (apart from <see cref="Certificate"/>: most callers need one of them).</summary>
    internal BcCertificate Parsed => _parsed.Value;

    /// <summary>Whether a certificate object was made (a lookup that needs only the facts leaves them unmade).</summary>
    internal bool IsParsed => _certificate.IsValueCreated || _parsed.IsValueCreated;

    /// <summary>What was derived from the certificate's bytes (all that listing and lookups need).</summary>
    internal SmimeFacts Facts { get; }

    public override KeyUsages Usages => Facts.Usages;

    public override bool HasPrivateKey { get; }

    public override DateTimeOffset? RevokedAt { get; }

    public bool IsCertificateAuthority => Facts.IsCertificateAuthority;

    /// <summary>An RSA key: S/MIME encryption to it is RSA key transport, the only kind RuleMail sends.</summary>
    public bool IsRsa => Facts.IsRsa;

    /// <summary>
    /// A CA certificate the admin imported: chains that reach it are trusted. A certificate that names a
    /// person's mail address in its subjectAltName (such as a self-signed one from <c>openssl req -x509</c>,
    /// which says CA:TRUE) is that person's certificate, trusted for its own signatures only, so that
    /// importing a correspondent's certificate never lets it vouch for other addresses.
    /// </summary>
    public bool IsTrustAnchor => IsCertificateAuthority && !Facts.HasAltNameAddress;

    public string Subject => Facts.Subject;

    public string Issuer => Facts.Issuer;

    public string SerialNumber => Facts.SerialNumber;

    public override string DisplayName => Subject;

    internal static SmimeCertificateEntry Create(X509Certificate2 certificate, bool hasPrivateKey, DateTimeOffset? revokedAt)
    {
        var parsed = new Org.BouncyCastle.X509.X509CertificateParser().ReadCertificate(certificate.RawData);
        return new SmimeCertificateEntry(Derive(certificate, parsed), new(certificate), new(parsed), hasPrivateKey, revokedAt);
    }

    /// <summary>
    /// An entry from facts derived earlier from the certificate <paramref name="der"/> gives, which is called only when
    /// the certificate itself is asked for. <paramref name="der"/> must refuse bytes that are not the certificate whose
    /// fingerprint the facts carry (the key store checks the file against its name), so facts are never paired with
    /// another certificate.
    /// </summary>
    internal static SmimeCertificateEntry FromFacts(SmimeFacts facts, Func<byte[]> der, bool hasPrivateKey)
    {
        // A failure is not kept (PublicationOnly): a certificate file restored after a failed read is read again when next
        // used, though the store's content, named by fingerprints, did not change.
        var bytes = new Lazy<byte[]>(der, LazyThreadSafetyMode.PublicationOnly);
        return new(
            facts,
            new(() => X509CertificateLoader.LoadCertificate(bytes.Value), LazyThreadSafetyMode.PublicationOnly),
            new(() => new Org.BouncyCastle.X509.X509CertificateParser().ReadCertificate(bytes.Value), LazyThreadSafetyMode.PublicationOnly),
            hasPrivateKey,
            revokedAt: null);
    }

    /// <summary>The facts of a certificate, as the store keeps them.</summary>
    internal static SmimeFacts Derive(X509Certificate2 certificate, BcCertificate parsed)
    {
        var keyUsage = parsed.GetKeyUsage();
        return new SmimeFacts(
            Convert.ToHexString(certificate.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256)),
            ReadAddresses(parsed),
            new DateTimeOffset(parsed.NotBefore, TimeSpan.Zero),
            new DateTimeOffset(parsed.NotAfter, TimeSpan.Zero),
            ReadUsages(parsed),
            parsed.GetBasicConstraints() >= 0 && (keyUsage is null || keyUsage[5]),
            parsed.GetSubjectAlternativeNames()?.Any(n => n.Count == 2 && n[0] is int tag && tag == GeneralName.Rfc822Name) == true,
            certificate.PublicKey.Oid.Value == KeyAlgorithmOids.Rsa,
            certificate.Subject,
            certificate.Issuer,
            certificate.SerialNumber,
            Convert.ToHexString(parsed.SerialNumber.ToByteArray()),
            NameKeys.Of(parsed.SubjectDN));
    }

    /// <summary>The same entry with another private-key or revocation state.</summary>
    internal SmimeCertificateEntry With(bool hasPrivateKey, DateTimeOffset? revokedAt) =>
        new(Facts, _certificate, _parsed, hasPrivateKey, revokedAt);

    /// <summary>subjectAltName rfc822Name entries; the subject's emailAddress only when there are none.</summary>
    private static List<string> ReadAddresses(BcCertificate certificate)
    {
        var addresses = new List<string>();
        var altNames = certificate.GetSubjectAlternativeNames();
        if (altNames is not null)
        {
            foreach (var altName in altNames)
            {
                if (altName.Count == 2 && altName[0] is int tag && tag == GeneralName.Rfc822Name && altName[1] is string address)
                {
                    AddAddress(addresses, address);
                }
            }
        }

        if (addresses.Count == 0)
        {
            foreach (var address in certificate.SubjectDN.GetValueList(X509Name.EmailAddress))
            {
                AddAddress(addresses, address);
            }
        }

        return addresses;
    }

    private static void AddAddress(List<string> addresses, string address)
    {
        var normalized = MailAddresses.Normalize(address);
        if (normalized is not null && !addresses.Contains(normalized))
        {
            addresses.Add(normalized);
        }
    }

    private static KeyUsages ReadUsages(BcCertificate certificate)
    {
        var extendedUsages = certificate.GetExtendedKeyUsage();
        if (extendedUsages is not null && extendedUsages.Count > 0 &&
            !extendedUsages.Any(oid => oid.Id is EmailProtectionOid or AnyExtendedKeyUsageOid))
        {
            return KeyUsages.None;
        }

        // The key's algorithm OID, not GetPublicKey(): BouncyCastle re-validates the RSA modulus on every call
        // (0.1-0.2 s measured for 2048 bits), and this runs for every certificate each time the store loads.
        var isRsa = certificate.CertificateStructure.SubjectPublicKeyInfo.Algorithm.Algorithm.Equals(
            Org.BouncyCastle.Asn1.Pkcs.PkcsObjectIdentifiers.RsaEncryption);
        var keyUsage = certificate.GetKeyUsage();
        if (keyUsage is null)
        {
            return KeyUsages.Sign | KeyUsages.Encrypt;
        }

        var usages = KeyUsages.None;
        if (keyUsage[0] || keyUsage[1])
        {
            usages |= KeyUsages.Sign;
        }

        // RSA key transport needs keyEncipherment; EC recipients use key agreement.
        if (isRsa ? keyUsage[2] : keyUsage[4])
        {
            usages |= KeyUsages.Encrypt;
        }

        return usages;
    }
}
