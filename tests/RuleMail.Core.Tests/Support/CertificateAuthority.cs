using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Support;

/// <summary>
/// An in-process CA (.NET's CertificateRequest) for certificates whose dates, usages and addresses a test
/// chooses exactly: openssl 3.0 cannot set a notBefore in the future. Leaf certificates share one RSA key
/// (they are imported without it) so making one costs a signature, not a key generation.
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    public const string EmailProtection = "1.3.6.1.5.5.7.3.4";
    public const string ServerAuth = "1.3.6.1.5.5.7.3.1";

    private readonly ECDsa _key;
    private long _serial = 0x5000;

    public CertificateAuthority()
    {
        var now = TimeProvider.System.GetUtcNow();
        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=In-Process Test CA, O=RuleMail Tests", _key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        Certificate = request.CreateSelfSigned(now.AddYears(-20), now.AddYears(20));
        LeafKey = RSA.Create(2048);
    }

    /// <summary>The CA certificate with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The key every leaf certificate made here carries.</summary>
    public RSA LeafKey { get; }

    public ImportFile CaFile => new("in-process-ca.crt", System.Text.Encoding.ASCII.GetBytes(Certificate.ExportCertificatePem()));

    /// <summary>A leaf certificate for S/MIME; by default signing + key encipherment and emailProtection.</summary>
    public X509Certificate2 Issue(
        string subject,
        DateTimeOffset notBefore,
        DateTimeOffset notAfter,
        IEnumerable<string>? emails = null,
        X509KeyUsageFlags? keyUsage = X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment,
        IEnumerable<string>? extendedKeyUsages = null,
        AsymmetricAlgorithm? key = null)
    {
        key ??= LeafKey;
        var request = key switch
        {
            RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            ECDsa ec => new CertificateRequest(subject, ec, HashAlgorithmName.SHA256),
            _ => throw new ArgumentException("RSA or ECDsa keys only", nameof(key)),
        };
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        if (keyUsage is { } usage)
        {
            request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
        }

        var ekus = (extendedKeyUsages ?? [EmailProtection]).ToList();
        if (ekus.Count > 0)
        {
            var oids = new OidCollection();
            foreach (var oid in ekus)
            {
                oids.Add(new Oid(oid));
            }

            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(oids, false));
        }

        var addresses = (emails ?? []).ToList();
        if (addresses.Count > 0)
        {
            var altNames = new SubjectAlternativeNameBuilder();
            foreach (var address in addresses)
            {
                altNames.AddEmailAddress(address);
            }

            request.CertificateExtensions.Add(altNames.Build());
        }

        var serial = BitConverter.GetBytes(Interlocked.Increment(ref _serial));
        Array.Reverse(serial);
        // The generator overload: the CA (EC) and the leaf (RSA or EC) may differ in algorithm.
        return request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), notBefore, notAfter, serial);
    }

    /// <summary>A CRL of this CA listing <paramref name="revoked"/> with their revocation times.</summary>
    public byte[] Crl(DateTimeOffset thisUpdate, params (X509Certificate2 Certificate, DateTimeOffset RevokedAt)[] revoked)
    {
        var builder = new CertificateRevocationListBuilder();
        foreach (var (certificate, revokedAt) in revoked)
        {
            builder.AddEntry(certificate, revokedAt);
        }

        return builder.Build(Certificate, BigInteger.One, thisUpdate.AddDays(30), HashAlgorithmName.SHA256, thisUpdate: thisUpdate);
    }

    public static ImportFile Pem(string name, X509Certificate2 certificate) =>
        new(name, System.Text.Encoding.ASCII.GetBytes(certificate.ExportCertificatePem()));

    public void Dispose()
    {
        Certificate.Dispose();
        LeafKey.Dispose();
        _key.Dispose();
    }
}
