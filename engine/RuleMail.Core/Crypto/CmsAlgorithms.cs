using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RuleMail.Crypto;

/// <summary>
/// The CMS and X.509 algorithm identifiers S/MIME mail carries, mapped to the lower-case names the security
/// result reports (<c>sha256</c>, <c>aes256-cbc</c>, <c>rsa</c>, ...) and to the digests a signature algorithm
/// implies, so the algorithm policy judges what a message names, not what a library assumes.
/// </summary>
internal static class CmsAlgorithms
{
    private static readonly Dictionary<string, string> Digests = new(StringComparer.Ordinal)
    {
        ["1.2.840.113549.2.2"] = "md2",
        ["1.2.840.113549.2.4"] = "md4",
        ["1.2.840.113549.2.5"] = "md5",
        ["1.3.14.3.2.26"] = "sha1",
        ["2.16.840.1.101.3.4.2.4"] = "sha224",
        ["2.16.840.1.101.3.4.2.1"] = "sha256",
        ["2.16.840.1.101.3.4.2.2"] = "sha384",
        ["2.16.840.1.101.3.4.2.3"] = "sha512",
        ["2.16.840.1.101.3.4.2.8"] = "sha3-256",
        ["2.16.840.1.101.3.4.2.9"] = "sha3-384",
        ["2.16.840.1.101.3.4.2.10"] = "sha3-512",
    };

    /// <summary>
    /// Signature algorithms that name their digest. A SignerInfo may say sha256 in its digestAlgorithm and
    /// md5WithRSAEncryption in its signatureAlgorithm; the weaker of the two is what the signature is worth.
    /// </summary>
    private static readonly Dictionary<string, string> SignatureDigests = new(StringComparer.Ordinal)
    {
        ["1.2.840.113549.1.1.2"] = "md2",
        ["1.2.840.113549.1.1.3"] = "md4",
        ["1.2.840.113549.1.1.4"] = "md5",
        ["1.2.840.113549.1.1.5"] = "sha1",
        ["1.3.14.3.2.29"] = "sha1",
        ["1.2.840.113549.1.1.14"] = "sha224",
        ["1.2.840.113549.1.1.11"] = "sha256",
        ["1.2.840.113549.1.1.12"] = "sha384",
        ["1.2.840.113549.1.1.13"] = "sha512",
        ["1.2.840.10045.4.1"] = "sha1",
        ["1.2.840.10045.4.3.1"] = "sha224",
        ["1.2.840.10045.4.3.2"] = "sha256",
        ["1.2.840.10045.4.3.3"] = "sha384",
        ["1.2.840.10045.4.3.4"] = "sha512",
        ["1.2.840.10040.4.3"] = "sha1",
        ["2.16.840.1.101.3.4.3.1"] = "sha224",
        ["2.16.840.1.101.3.4.3.2"] = "sha256",
    };

    private static readonly Dictionary<string, Cipher> Ciphers = new(StringComparer.Ordinal)
    {
        ["2.16.840.1.101.3.4.1.2"] = new("aes128-cbc", "AES-128-CBC", Legacy: false, CipherFamily.AesCbc, KeyBytes: 16),
        ["2.16.840.1.101.3.4.1.22"] = new("aes192-cbc", "AES-192-CBC", Legacy: false, CipherFamily.AesCbc, KeyBytes: 24),
        ["2.16.840.1.101.3.4.1.42"] = new("aes256-cbc", "AES-256-CBC", Legacy: false, CipherFamily.AesCbc, KeyBytes: 32),
        ["2.16.840.1.101.3.4.1.6"] = new("aes128-gcm", "AES-128-GCM", Legacy: false, CipherFamily.AesGcm, KeyBytes: 16),
        ["2.16.840.1.101.3.4.1.26"] = new("aes192-gcm", "AES-192-GCM", Legacy: false, CipherFamily.AesGcm, KeyBytes: 24),
        ["2.16.840.1.101.3.4.1.46"] = new("aes256-gcm", "AES-256-GCM", Legacy: false, CipherFamily.AesGcm, KeyBytes: 32),
        ["2.16.840.1.101.3.4.1.7"] = new("aes128-ccm", "AES-128-CCM", Legacy: false),
        ["2.16.840.1.101.3.4.1.27"] = new("aes192-ccm", "AES-192-CCM", Legacy: false),
        ["2.16.840.1.101.3.4.1.47"] = new("aes256-ccm", "AES-256-CCM", Legacy: false),
        ["1.2.840.113549.3.7"] = new("3des", "3DES", Legacy: true, CipherFamily.TripleDesCbc, KeyBytes: 24),
        ["1.2.840.113549.3.2"] = new("rc2", "RC2", Legacy: true),
        ["1.3.14.3.2.7"] = new("des", "DES", Legacy: true),
    };

    /// <summary>The digest's name, or the OID itself when it is none RuleMail knows.</summary>
    public static string DigestName(string? oid) => oid is not null && Digests.TryGetValue(oid, out var name) ? name : oid ?? "unknown";

    /// <summary>Whether <paramref name="digest"/> (a name from <see cref="DigestName"/>) is one RuleMail knows, rather than an OID it passed through.</summary>
    public static bool IsKnownDigest(string digest) => Digests.ContainsValue(digest);

    /// <summary>The digest a signature algorithm names, or null when it names none (rsaEncryption, ecPublicKey) or is unknown.</summary>
    public static string? SignatureDigest(string? oid) => oid is not null && SignatureDigests.TryGetValue(oid, out var name) ? name : null;

    /// <summary>MD2, MD4 and MD5: collisions are practical, so nothing signed with them proves anything.</summary>
    public static bool IsBroken(string? digest) => digest is "md2" or "md4" or "md5";

    /// <summary>The content cipher of enveloped or authEnveloped data; the OID itself when unknown, never a legacy flag then.</summary>
    public static Cipher CipherOf(string? oid) =>
        oid is not null && Ciphers.TryGetValue(oid, out var cipher) ? cipher : new Cipher(oid ?? "unknown", oid ?? "an unknown cipher", Legacy: false);

    /// <summary>The public key of a certificate as the result reports it, or null when the algorithm is none RuleMail judges or the key cannot be read.</summary>
    public static KeyFacts? KeyOf(X509Certificate2 certificate)
    {
        try
        {
            return ReadKey(certificate);
        }
        catch (CryptographicException)
        {
            // A key OpenSSL cannot load cannot verify either: the signature check reports it.
            return null;
        }
    }

    private static KeyFacts? ReadKey(X509Certificate2 certificate)
    {
        switch (certificate.PublicKey.Oid.Value)
        {
            case "1.2.840.113549.1.1.1" or "1.2.840.113549.1.1.10":
            {
                using var rsa = certificate.GetRSAPublicKey();
                return rsa is null ? null : new KeyFacts("rsa", rsa.KeySize);
            }

            case "1.2.840.10045.2.1":
            {
                using var ec = certificate.GetECDsaPublicKey();
                return ec is null ? null : new KeyFacts("ecdsa", ec.KeySize);
            }

            case "1.2.840.10040.4.1":
            {
                using var dsa = certificate.GetDSAPublicKey();
                return dsa is null ? null : new KeyFacts("dsa", dsa.KeySize);
            }

            default:
                return null;
        }
    }

    /// <summary>
    /// A content cipher: the name the result reports, the name a comment shows, whether it is a legacy one, and for the
    /// ciphers RuleMail decrypts itself (<see cref="CipherFamily"/> not <see cref="CipherFamily.Other"/>) the content key's size in bytes.
    /// The one table of content ciphers: the in-memory and the streamed paths both read it.
    /// </summary>
    internal sealed record Cipher(string Name, string Display, bool Legacy, CipherFamily Family = CipherFamily.Other, int KeyBytes = 0);

    /// <summary>How a content cipher is run where RuleMail runs it itself rather than through EnvelopedCms.</summary>
    internal enum CipherFamily
    {
        /// <summary>Left to EnvelopedCms (or not supported).</summary>
        Other,

        /// <summary>AES in CBC mode with PKCS#7 padding, the IV as the algorithm's parameters.</summary>
        AesCbc,

        /// <summary>Triple DES (EDE3) in CBC mode with PKCS#7 padding.</summary>
        TripleDesCbc,

        /// <summary>AES-GCM (RFC 5084): authEnveloped-data.</summary>
        AesGcm,
    }
}
