using System.Globalization;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace RuleMail.Crypto;

/// <summary>
/// OpenPGP algorithm identifiers as the security result names them (lower-case facts for rules), and the algorithm
/// policy for signatures: MD2/MD4/MD5 never, SHA-1 only when allowed, RSA and DSA keys of at least
/// <see cref="SecurityPolicy.MinRsaBits"/>, elliptic curves of at least 256 bits.
/// </summary>
/// <remarks>
/// Key facts: <c>rsa</c> and <c>dsa</c> with the modulus (or prime) size; <c>ecdsa</c> with the curve size (256, 384, 521, 512 for
/// brainpoolP512r1); EdDSA keys by their curve, <c>ed25519</c> (255 bits, as gpg lists it) or <c>ed448</c> (448), whether they come
/// as the legacy EdDSA algorithm (22) or as the RFC 9580 Ed25519/Ed448 algorithms (27, 28), since a rule cares about the curve, not the packet format.
/// </remarks>
internal static class PgpAlgorithms
{
    private static readonly Dictionary<string, (string Name, int Bits)> Curves = new(StringComparer.Ordinal)
    {
        ["1.2.840.10045.3.1.7"] = ("nistp256", 256),
        ["1.3.132.0.34"] = ("nistp384", 384),
        ["1.3.132.0.35"] = ("nistp521", 521),
        ["1.3.36.3.3.2.8.1.1.7"] = ("brainpoolP256r1", 256),
        ["1.3.36.3.3.2.8.1.1.11"] = ("brainpoolP384r1", 384),
        ["1.3.36.3.3.2.8.1.1.13"] = ("brainpoolP512r1", 512),
        ["1.3.132.0.10"] = ("secp256k1", 256),
        ["1.3.6.1.4.1.11591.15.1"] = ("ed25519", 255),
        ["1.3.101.112"] = ("ed25519", 255),
        ["1.3.101.113"] = ("ed448", 448),
    };

    /// <summary>The digest's name, lower-case: <c>sha256</c>, <c>sha1</c>, <c>md5</c>, ...</summary>
    public static string DigestName(HashAlgorithmTag digest) => digest switch
    {
        HashAlgorithmTag.MD5 => "md5",
        HashAlgorithmTag.MD2 => "md2",
        HashAlgorithmTag.Sha1 => "sha1",
        HashAlgorithmTag.RipeMD160 => "ripemd160",
        HashAlgorithmTag.Sha224 => "sha224",
        HashAlgorithmTag.Sha256 => "sha256",
        HashAlgorithmTag.Sha384 => "sha384",
        HashAlgorithmTag.Sha512 => "sha512",
        HashAlgorithmTag.Sha3_256 => "sha3-256",
        HashAlgorithmTag.Sha3_512 => "sha3-512",
        _ => "hash" + ((int)digest).ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The content cipher's name, lower-case: <c>aes256</c>, <c>cast5</c>, <c>3des</c>, ...</summary>
    public static string CipherName(SymmetricKeyAlgorithmTag cipher) => cipher switch
    {
        SymmetricKeyAlgorithmTag.Null => "none",
        SymmetricKeyAlgorithmTag.Idea => "idea",
        SymmetricKeyAlgorithmTag.TripleDes => "3des",
        SymmetricKeyAlgorithmTag.Cast5 => "cast5",
        SymmetricKeyAlgorithmTag.Blowfish => "blowfish",
        SymmetricKeyAlgorithmTag.Safer => "safer",
        SymmetricKeyAlgorithmTag.Des => "des",
        SymmetricKeyAlgorithmTag.Aes128 => "aes128",
        SymmetricKeyAlgorithmTag.Aes192 => "aes192",
        SymmetricKeyAlgorithmTag.Aes256 => "aes256",
        SymmetricKeyAlgorithmTag.Twofish => "twofish",
        SymmetricKeyAlgorithmTag.Camellia128 => "camellia128",
        SymmetricKeyAlgorithmTag.Camellia192 => "camellia192",
        SymmetricKeyAlgorithmTag.Camellia256 => "camellia256",
        _ => "cipher" + ((int)cipher).ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// How a legacy cipher (64-bit blocks, or no cipher at all) is named in the success comment, or null for a current one.
    /// They still decrypt, since old correspondents still send them, but the comment says so.
    /// </summary>
    public static string? LegacyCipherLabel(SymmetricKeyAlgorithmTag cipher) => cipher switch
    {
        SymmetricKeyAlgorithmTag.Null => "none (plaintext)",
        SymmetricKeyAlgorithmTag.Idea => "IDEA",
        SymmetricKeyAlgorithmTag.TripleDes => "3DES",
        SymmetricKeyAlgorithmTag.Cast5 => "CAST5",
        SymmetricKeyAlgorithmTag.Blowfish => "Blowfish",
        SymmetricKeyAlgorithmTag.Safer => "SAFER",
        SymmetricKeyAlgorithmTag.Des => "DES",
        _ => null,
    };

    /// <summary>The signer key's algorithm and size (see the remarks for the names).</summary>
    public static KeyFacts KeyFactsOf(PgpPublicKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        switch (key.Algorithm)
        {
            case PublicKeyAlgorithmTag.RsaGeneral or PublicKeyAlgorithmTag.RsaSign or PublicKeyAlgorithmTag.RsaEncrypt:
                return new KeyFacts("rsa", key.BitStrength);
            case PublicKeyAlgorithmTag.Dsa:
                return new KeyFacts("dsa", key.BitStrength);
            case PublicKeyAlgorithmTag.ElGamalGeneral or PublicKeyAlgorithmTag.ElGamalEncrypt:
                return new KeyFacts("elgamal", key.BitStrength);
            case PublicKeyAlgorithmTag.Ed25519:
                return new KeyFacts("ed25519", 255);
            case PublicKeyAlgorithmTag.Ed448:
                return new KeyFacts("ed448", 448);
            case PublicKeyAlgorithmTag.ECDsa or PublicKeyAlgorithmTag.EdDsa_Legacy:
            {
                var curve = Curve(key);
                var algorithm = key.Algorithm == PublicKeyAlgorithmTag.ECDsa ? "ecdsa" : curve?.Name ?? "eddsa";
                return new KeyFacts(algorithm, curve?.Bits ?? key.BitStrength);
            }

            default:
                return new KeyFacts(key.Algorithm.ToString().ToLowerInvariant(), key.BitStrength);
        }
    }

    /// <summary>The refusal comment when the signature's digest or the signer's key falls below the policy, or null when both are accepted.</summary>
    public static string? Refusal(SecurityPolicy policy, HashAlgorithmTag digest, PgpPublicKey key)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(key);
        if (digest is HashAlgorithmTag.MD5 or HashAlgorithmTag.MD2)
        {
            return SecurityComments.BrokenDigest(DigestName(digest));
        }

        if (digest == HashAlgorithmTag.Sha1 && !policy.AcceptSha1Signatures)
        {
            return SecurityComments.Sha1Refused;
        }

        switch (key.Algorithm)
        {
            case PublicKeyAlgorithmTag.RsaGeneral or PublicKeyAlgorithmTag.RsaSign or PublicKeyAlgorithmTag.RsaEncrypt
                or PublicKeyAlgorithmTag.Dsa or PublicKeyAlgorithmTag.ElGamalGeneral:
            {
                var facts = KeyFactsOf(key);
                return facts.Bits < policy.MinRsaBits ? SecurityComments.SignerKeyTooSmall(facts.Algorithm, facts.Bits, policy.MinRsaBits) : null;
            }

            case PublicKeyAlgorithmTag.ECDsa or PublicKeyAlgorithmTag.EdDsa_Legacy:
            {
                var curve = Curve(key);
                return curve is null || curve.Value.Bits < 255
                    ? SecurityComments.SignerCurveRefused(curve?.Name ?? CurveOid(key) ?? "(unknown)")
                    : null;
            }

            default:
                return null;
        }
    }

    private static (string Name, int Bits)? Curve(PgpPublicKey key) =>
        CurveOid(key) is { } oid && Curves.TryGetValue(oid, out var curve) ? curve : null;

    private static string? CurveOid(PgpPublicKey key) => (key.PublicKeyPacket.Key as ECPublicBcpgKey)?.CurveOid?.Id;
}
