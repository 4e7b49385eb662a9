using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RuleMail.Keys;

namespace RuleMail.Crypto;

/// <summary>
/// A certificate that signed (or may sign) mail, decoded once: the .NET and BouncyCastle views, the names a CMS signer
/// identifier is matched against, the key facts the algorithm policy judges, and public keys ready for a signature check.
/// OpenSSL 3.0 decodes a certificate and its public key in about 0.2 ms each, more than the RSA-2048 verification itself,
/// so <see cref="SmimeSignatureCheck"/> keeps these by certificate fingerprint instead of decoding both for every message.
/// Nothing here depends on the key store: whether the store trusts, holds or has revoked the certificate is judged at
/// each use against the store as it is then.
/// </summary>
/// <remarks>Thread-safe: the public keys are lent to one caller at a time.</remarks>
internal sealed class SmimeSignerCertificate
{
    /// <summary>Public keys kept per certificate: one per worker that checks a signature by it at the same moment.</summary>
    private const int MaxIdleKeys = 16;

    private readonly ConcurrentBag<AsymmetricAlgorithm> _idleKeys = [];

    // Read when a signature by the certificate is judged, not when it is only matched against a signer identifier.
    private readonly Lazy<KeyFacts?> _key;

    private SmimeSignerCertificate(X509Certificate2 certificate, SmimeCertificateEntry entry)
    {
        Certificate = certificate;
        Entry = entry;
        _key = new Lazy<KeyFacts?>(() => CmsAlgorithms.KeyOf(certificate));
        KeyAlgorithm = certificate.PublicKey.Oid.Value;
        IssuerName = certificate.IssuerName.Name;
        SerialNumber = certificate.SerialNumber;
        KeyIdentifiers = [.. certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Select(e => e.SubjectKeyIdentifier).OfType<string>()];
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>The certificate as an entry, without a private key or a revocation: the store's revocation is asked at each use.</summary>
    public SmimeCertificateEntry Entry { get; }

    /// <summary>The public key as the result reports it; null when it is of no type RuleMail judges or cannot be read.</summary>
    public KeyFacts? Key => _key.Value;

    /// <summary>The OID of the public key's algorithm.</summary>
    public string? KeyAlgorithm { get; }

    public string IssuerName { get; }

    public string SerialNumber { get; }

    public IReadOnlyList<string> KeyIdentifiers { get; }

    public static SmimeSignerCertificate Create(X509Certificate2 certificate, SmimeCertificateEntry entry) => new(certificate, entry);

    /// <summary>
    /// Whether a signer identifier names this certificate: issuer name (as .NET formats it) and serial number (hex, any case),
    /// or subject key identifier (hex, any case), the way <see cref="SmimeRecipients.Matches"/> compares them.
    /// </summary>
    public bool Matches(SignerName name) => name.KeyIdentifier is { } keyIdentifier
        ? KeyIdentifiers.Any(k => string.Equals(k, keyIdentifier, StringComparison.OrdinalIgnoreCase))
        : string.Equals(SerialNumber, name.SerialNumber, StringComparison.OrdinalIgnoreCase) && string.Equals(IssuerName, name.IssuerName, StringComparison.Ordinal);

    /// <summary>
    /// Whether <paramref name="signature"/> is this certificate's key's signature over <paramref name="hash"/>: RSA PKCS#1 v1.5
    /// for an RSA key, a DER (r, s) ECDSA signature for an EC key. Null when the key is of another type or cannot be read.
    /// </summary>
    public bool? VerifyHash(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> signature, HashAlgorithmName digest)
    {
        if (!_idleKeys.TryTake(out var key))
        {
            key = OpenKey();
            if (key is null)
            {
                return null;
            }
        }

        try
        {
            return key switch
            {
                RSA rsa => rsa.VerifyHash(hash, signature, digest, RSASignaturePadding.Pkcs1),
                ECDsa ecdsa => ecdsa.VerifyHash(hash, signature, DSASignatureFormat.Rfc3279DerSequence),
                _ => null,
            };
        }
        finally
        {
            if (_idleKeys.Count < MaxIdleKeys)
            {
                _idleKeys.Add(key);
            }
            else
            {
                key.Dispose();
            }
        }
    }

    private AsymmetricAlgorithm? OpenKey()
    {
        try
        {
            return KeyAlgorithm switch
            {
                KeyAlgorithmOids.Rsa => Certificate.GetRSAPublicKey(),
                KeyAlgorithmOids.Ec => Certificate.GetECDsaPublicKey(),
                _ => null,
            };
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>
    /// What a CMS SignerIdentifier says, in the form certificates are compared with: the issuer's name as .NET formats it
    /// and the serial number in hex, or the subject key identifier in hex.
    /// </summary>
    internal sealed record SignerName(string? IssuerName, string? SerialNumber, string? KeyIdentifier);
}
