using System.Text;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace RuleMail.Core.Tests.Support;

/// <summary>BouncyCastle OpenPGP operations the tests use to prove a key works or to inspect a file.</summary>
internal static class Pgp
{
    public static PgpPublicKeyRing PublicRing(byte[] content) =>
        new(PgpUtilities.GetDecoderStream(new MemoryStream(content)));

    public static PgpSecretKeyRing SecretRing(byte[] content) =>
        new(PgpUtilities.GetDecoderStream(new MemoryStream(content)));

    /// <summary>The binary form of an armored (or already binary) OpenPGP file.</summary>
    public static byte[] Dearmor(byte[] content)
    {
        using var input = PgpUtilities.GetDecoderStream(new MemoryStream(content));
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    public static byte[] Armor(byte[] binary)
    {
        using var buffer = new MemoryStream();
        using (var armored = new ArmoredOutputStream(buffer))
        {
            armored.Write(binary);
        }

        return buffer.ToArray();
    }

    /// <summary>Signs <paramref name="data"/> with the private key and verifies the signature with the public key.</summary>
    public static bool SignAndVerify(PgpPrivateKey privateKey, PgpPublicKey publicKey, byte[] data)
    {
        var generator = new PgpSignatureGenerator(publicKey.Algorithm, HashAlgorithmTag.Sha256);
        generator.InitSign(PgpSignature.BinaryDocument, privateKey);
        generator.Update(data);
        var signature = generator.Generate();

        signature.InitVerify(publicKey);
        signature.Update(data);
        return signature.Verify();
    }

    /// <summary>Encrypts <paramref name="data"/> to the public key and decrypts it with the private key.</summary>
    public static byte[] EncryptAndDecrypt(PgpPublicKey publicKey, PgpPrivateKey privateKey, byte[] data)
    {
        using var encrypted = new MemoryStream();
        var generator = new PgpEncryptedDataGenerator(SymmetricKeyAlgorithmTag.Aes256, true, new SecureRandom());
        generator.AddMethod(publicKey);
        using (var cipher = generator.Open(encrypted, new byte[4096]))
        {
            var literal = new PgpLiteralDataGenerator();
            using var plain = literal.Open(cipher, PgpLiteralData.Binary, "data", data.Length, TimeProvider.System.GetUtcNow().UtcDateTime);
            plain.Write(data);
        }

        var list = (PgpEncryptedDataList)new PgpObjectFactory(encrypted.ToArray()).NextPgpObject();
        var packet = (PgpPublicKeyEncryptedData)list[0];
        using var clear = packet.GetDataStream(privateKey);
        var literalData = (PgpLiteralData)new PgpObjectFactory(clear).NextPgpObject();
        using var output = new MemoryStream();
        literalData.GetInputStream().CopyTo(output);
        return output.ToArray();
    }

    /// <summary>The secret numbers of a private key, to look for them in files that must not contain them.</summary>
    public static byte[] SecretBytes(AsymmetricKeyParameter key) => key switch
    {
        RsaPrivateCrtKeyParameters rsa => rsa.Exponent.ToByteArrayUnsigned(),
        Ed25519PrivateKeyParameters ed => ed.GetEncoded(),
        X25519PrivateKeyParameters x => x.GetEncoded(),
        ECPrivateKeyParameters ec => ec.D.ToByteArrayUnsigned(),
        _ => throw new ArgumentException($"no secret bytes known for {key.GetType().Name}", nameof(key)),
    };

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
