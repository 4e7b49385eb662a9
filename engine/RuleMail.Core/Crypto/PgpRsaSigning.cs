using System.Security.Cryptography;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace RuleMail.Crypto;

/// <summary>
/// A version 4 RSA signature over binary content, signed by OpenSSL: BouncyCastle builds the packet and its trailer
/// (type, hashed subpackets, length) exactly as its own <see cref="PgpSignatureGenerator"/> would, the digest of content
/// and trailer is signed with the key converted once (<see cref="PgpRsa"/>), and BouncyCastle writes the packet.
/// </summary>
internal sealed class PgpRsaSigning
{
    private readonly RSA _rsa;
    private readonly long _keyId;
    private readonly PublicKeyAlgorithmTag _algorithm;
    private readonly HashAlgorithmTag _digest;
    private readonly HashAlgorithmName _name;
    private readonly SignatureSubpacket[] _hashed;
    private readonly SignatureSubpacket[] _unhashed;

    private PgpRsaSigning(
        RSA rsa, long keyId, PublicKeyAlgorithmTag algorithm, HashAlgorithmTag digest, HashAlgorithmName name,
        SignatureSubpacket[] hashed, SignatureSubpacket[] unhashed)
    {
        _rsa = rsa;
        _keyId = keyId;
        _algorithm = algorithm;
        _digest = digest;
        _name = name;
        _hashed = hashed;
        _unhashed = unhashed;
    }

    /// <summary>The signer for an RSA key OpenSSL takes; null for another key (BouncyCastle signs it as before).</summary>
    public static PgpRsaSigning? For(
        PgpPublicKey publicKey, PgpPrivateKey privateKey, HashAlgorithmTag digest, PgpSignatureSubpacketVector hashed, PgpSignatureSubpacketVector unhashed)
    {
        ArgumentNullException.ThrowIfNull(publicKey);
        ArgumentNullException.ThrowIfNull(privateKey);
        ArgumentNullException.ThrowIfNull(hashed);
        ArgumentNullException.ThrowIfNull(unhashed);
        return PgpRsa.IsRsa(publicKey.Algorithm) && PgpRsaSignature.HashName(digest) is { } name && PgpRsa.Private(privateKey) is { } rsa
            ? new PgpRsaSigning(rsa, publicKey.KeyId, publicKey.Algorithm, digest, name, hashed.ToArray(), unhashed.ToArray())
            : null;
    }

    /// <summary>Writes the one-pass signature packet that announces this signature (not nested: it is the only one).</summary>
    public void WriteOnePass(Stream output) =>
        new BcpgOutputStream(output).WritePacket(new OnePassSignaturePacket(PgpSignature.BinaryDocument, _digest, _algorithm, _keyId, isNested: false));

    /// <summary>Signs <paramref name="content"/> (a binary document) and writes the signature packet.</summary>
    public void WriteSignature(Stream output, ReadOnlySpan<byte> content)
    {
        // The packet with a placeholder value gives BouncyCastle's own trailer for these subpackets.
        var trailer = Packet([0, 0], new MPInteger(Org.BouncyCastle.Math.BigInteger.One)).GetSignatureTrailer();
        var digest = PgpRsaSignature.Digest(PgpSignature.BinaryDocument, _name, content, trailer);
        var value = _rsa.SignHash(digest, _name, RSASignaturePadding.Pkcs1);
        PgpRsa.Counted();
        new BcpgOutputStream(output).WritePacket(Packet(digest[..2], new MPInteger(new Org.BouncyCastle.Math.BigInteger(1, value))));
    }

    private SignaturePacket Packet(byte[] prefix, MPInteger value) =>
        new(PgpSignature.BinaryDocument, _keyId, _algorithm, _digest, _hashed, _unhashed, prefix, [value]);
}
