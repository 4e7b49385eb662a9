using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.OpenSsl;
using Org.BouncyCastle.Pkcs;

namespace RuleMail.Keys;

/// <summary>
/// Recognises and reads key files: PEM (certificates, TRUSTED CERTIFICATE, CRLs, PKCS#1/PKCS#8/encrypted
/// PKCS#8 and legacy encrypted keys), DER certificates and CRLs, PKCS#12, and armored or binary OpenPGP
/// keys. Content decides the format, never the file name. Every failure is a <see cref="KeyStoreException"/>
/// naming the file.
/// </summary>
internal static class KeyFileReader
{
    private static readonly byte[] Utf8ByteOrderMark = [0xEF, 0xBB, 0xBF];

    public static void Read(string source, byte[] content, string? passphrase, KeyMaterial into)
    {
        // Notepad and friends may start a text file with a UTF-8 byte order mark; its high bit must not
        // make a PEM or armored file look like binary OpenPGP.
        if (content.AsSpan().StartsWith(Utf8ByteOrderMark))
        {
            content = content[Utf8ByteOrderMark.Length..];
        }

        if (content.Length == 0)
        {
            throw Bad(source, "the file is empty");
        }

        try
        {
            if ((content[0] & 0x80) != 0)
            {
                ReadPgp(source, content, passphrase, into);
                return;
            }

            var text = TryDecodeText(content);
            if (text is not null && text.Contains("-----BEGIN PGP ", StringComparison.Ordinal))
            {
                ReadPgp(source, content, passphrase, into);
            }
            else if (text is not null && text.Contains("-----BEGIN ", StringComparison.Ordinal))
            {
                ReadPem(source, text, passphrase, into);
            }
            else if (content[0] == 0x30)
            {
                ReadDer(source, content, passphrase, into);
            }
            else
            {
                throw Bad(source, "not a certificate, private key, PKCS#12, CRL or OpenPGP key");
            }
        }
        catch (KeyStoreException)
        {
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The parsers (BouncyCastle above all) throw many exception types on hostile or damaged input
            // (UnsupportedPacketVersionException, InvalidCastException, ...); whatever they throw, the file
            // is unreadable, and the admin gets one line naming it, never a stack trace.
            throw Bad(source, $"cannot be read ({Describe(e)})", e);
        }
    }

    private static string? TryDecodeText(byte[] content)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(content);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    private static void ReadPem(string source, string text, string? passphrase, KeyMaterial into)
    {
        var legacyEncrypted = text.Contains("Proc-Type: 4,ENCRYPTED", StringComparison.Ordinal);
        if (legacyEncrypted)
        {
            ReadLegacyEncryptedPem(source, text, passphrase, into);
            text = RemoveLegacyEncryptedBlocks(text);
        }

        var found = 0;
        var rest = text.AsMemory();
        while (PemEncoding.TryFind(rest.Span, out var fields))
        {
            var label = rest.Span[fields.Label].ToString();
            var der = Convert.FromBase64String(rest.Span[fields.Base64Data].ToString());
            ReadPemBlock(source, label, der, passphrase, into);
            found++;
            rest = rest[fields.Location.End..];
        }

        if (found == 0 && !legacyEncrypted)
        {
            throw Bad(source, "no complete PEM block (truncated or damaged file?)");
        }

        if (rest.Span.IndexOf("-----BEGIN ", StringComparison.Ordinal) >= 0)
        {
            throw Bad(source, "a PEM block is incomplete (truncated or damaged file?)");
        }
    }

    private static void ReadPemBlock(string source, string label, byte[] der, string? passphrase, KeyMaterial into)
    {
        switch (label)
        {
            case "CERTIFICATE":
            case "X509 CERTIFICATE":
                into.Certificates.Add(new(source, X509CertificateLoader.LoadCertificate(der)));
                break;
            case "TRUSTED CERTIFICATE":
                // OpenSSL's trusted form is the certificate followed by its trust settings; the certificate is the first element.
                into.Certificates.Add(new(source, X509CertificateLoader.LoadCertificate(FirstAsn1Element(der))));
                break;
            case "EC PARAMETERS":
                // openssl ecparam -genkey writes the curve before the key; the key names its curve itself.
                break;
            case "X509 CRL":
                into.Crls.Add(new(source, der));
                break;
            case "RSA PRIVATE KEY":
                var rsa = RSA.Create();
                rsa.ImportRSAPrivateKey(der, out _);
                into.PrivateKeys.Add(new(source, rsa));
                break;
            case "EC PRIVATE KEY":
                var ec = ECDsa.Create();
                ec.ImportECPrivateKey(der, out _);
                into.PrivateKeys.Add(new(source, ec));
                break;
            case "PRIVATE KEY":
                into.PrivateKeys.Add(new(source, ImportPkcs8(source, der)));
                break;
            case "ENCRYPTED PRIVATE KEY":
                if (passphrase is null)
                {
                    throw Bad(source, "the private key is encrypted: give its passphrase with --passphrase-env VAR");
                }

                byte[] decrypted;
                try
                {
                    decrypted = Pkcs8PrivateKeyInfo.DecryptAndDecode(passphrase.AsSpan(), der, out _).Encode();
                }
                catch (CryptographicException e)
                {
                    throw Bad(source, "wrong passphrase for the encrypted private key", e);
                }

                into.PrivateKeys.Add(new(source, ImportPkcs8(source, decrypted)));
                break;
            case "PKCS7":
                var cms = new SignedCms();
                cms.Decode(der);
                foreach (var certificate in cms.Certificates)
                {
                    into.Certificates.Add(new(source, X509CertificateLoader.LoadCertificate(certificate.RawData)));
                }

                break;
            default:
                throw Bad(source, $"unsupported PEM block \"{label}\"");
        }
    }

    private static AsymmetricAlgorithm ImportPkcs8(string source, byte[] pkcs8)
    {
        var info = Pkcs8PrivateKeyInfo.Decode(pkcs8, out _, skipCopy: true);
        AsymmetricAlgorithm key = info.AlgorithmId.Value switch
        {
            KeyAlgorithmOids.Rsa => RSA.Create(),
            KeyAlgorithmOids.Ec => ECDsa.Create(),
            _ => throw Bad(source, $"unsupported private key algorithm {info.AlgorithmId.FriendlyName ?? info.AlgorithmId.Value} (RSA and EC are supported)"),
        };
        key.ImportPkcs8PrivateKey(pkcs8, out _);
        return key;
    }

    private static void ReadLegacyEncryptedPem(string source, string text, string? passphrase, KeyMaterial into)
    {
        if (passphrase is null)
        {
            throw Bad(source, "the private key is encrypted: give its passphrase with --passphrase-env VAR");
        }

        using var reader = new StringReader(text);
        var pem = new PemReader(reader, new FixedPassword(passphrase));
        var keys = new List<Org.BouncyCastle.Crypto.AsymmetricCipherKeyPair>();
        try
        {
            // The encrypted key may follow a certificate: every object is read under this catch.
            for (var item = pem.ReadObject(); item is not null; item = pem.ReadObject())
            {
                if (item is Org.BouncyCastle.Crypto.AsymmetricCipherKeyPair pair)
                {
                    keys.Add(pair);
                }
            }
        }
        catch (Exception e) when (e is PemException or Org.BouncyCastle.Crypto.InvalidCipherTextException or IOException)
        {
            throw Bad(source, "wrong passphrase for the encrypted private key", e);
        }

        if (keys.Count == 0)
        {
            throw Bad(source, "the encrypted private key cannot be read (truncated or damaged file?)");
        }

        foreach (var pair in keys)
        {
            var pkcs8 = PrivateKeyInfoFactory.CreatePrivateKeyInfo(pair.Private).GetDerEncoded();
            into.PrivateKeys.Add(new(source, ImportPkcs8(source, pkcs8)));
        }
    }

    private static string RemoveLegacyEncryptedBlocks(string text)
    {
        var builder = new StringBuilder();
        var skipping = false;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("-----BEGIN ", StringComparison.Ordinal) && line.Contains("PRIVATE KEY", StringComparison.Ordinal))
            {
                skipping = true;
            }

            if (!skipping)
            {
                builder.Append(line).Append('\n');
            }

            if (skipping && line.StartsWith("-----END ", StringComparison.Ordinal))
            {
                skipping = false;
            }
        }

        return builder.ToString();
    }

    private static void ReadDer(string source, byte[] content, string? passphrase, KeyMaterial into)
    {
        var reader = new AsnReader(content, AsnEncodingRules.BER);
        var outer = reader.ReadSequence();
        if (reader.HasData)
        {
            throw Bad(source, "trailing data after the DER structure (truncated or damaged file?)");
        }

        var first = outer.PeekTag();
        if (first.HasSameClassAndValue(Asn1Tag.Integer))
        {
            var version = outer.ReadInteger();
            if (version == 3)
            {
                ReadPkcs12(source, content, passphrase, into);
            }
            else
            {
                into.PrivateKeys.Add(new(source, ImportPkcs8(source, content)));
            }

            return;
        }

        // Certificate and CRL both start with a SEQUENCE (the to-be-signed part); try the certificate first.
        try
        {
            into.Certificates.Add(new(source, X509CertificateLoader.LoadCertificate(content)));
        }
        catch (CryptographicException)
        {
            _ = CrlEntry.Create(content);
            into.Crls.Add(new(source, content));
        }
    }

    private static void ReadPkcs12(string source, byte[] content, string? passphrase, KeyMaterial into)
    {
        X509Certificate2Collection collection;
        try
        {
            collection = X509CertificateLoader.LoadPkcs12Collection(
                content,
                passphrase ?? string.Empty,
                X509KeyStorageFlags.Exportable | X509KeyStorageFlags.EphemeralKeySet);
        }
        catch (CryptographicException e)
        {
            throw Bad(source, passphrase is null
                ? "the PKCS#12 file is protected: give its passphrase with --passphrase-env VAR"
                : "wrong passphrase for the PKCS#12 file", e);
        }

        foreach (var certificate in collection)
        {
            if (certificate.HasPrivateKey)
            {
                AsymmetricAlgorithm key = (AsymmetricAlgorithm?)certificate.GetRSAPrivateKey()
                    ?? certificate.GetECDsaPrivateKey()
                    ?? throw Bad(source, $"unsupported private key algorithm for {certificate.Subject} (RSA and EC are supported)");
                into.PrivateKeys.Add(new(source, key));
            }

            into.Certificates.Add(new(source, X509CertificateLoader.LoadCertificate(certificate.RawData)));
            certificate.Dispose();
        }
    }

    private static void ReadPgp(string source, byte[] content, string? passphrase, KeyMaterial into)
    {
        var found = 0;
        foreach (var block in PgpBlocks(content))
        {
            using var input = PgpUtilities.GetDecoderStream(new MemoryStream(block));
            var factory = new PgpObjectFactory(input);
            for (var item = factory.NextPgpObject(); item is not null; item = factory.NextPgpObject())
            {
                switch (item)
                {
                    case PgpPublicKeyRing publicRing:
                        into.PgpPublicRings.Add(new(source, publicRing));
                        break;
                    case PgpSecretKeyRing secretRing:
                        into.PgpSecretRings.Add(new(source, secretRing));
                        break;
                    case PgpSignatureList signatures:
                        for (var i = 0; i < signatures.Count; i++)
                        {
                            into.PgpSignatures.Add(new(source, signatures[i]));
                        }

                        break;
                    case PgpMarker:
                        break;
                    default:
                        throw Bad(source, $"an OpenPGP {item.GetType().Name.Replace("Pgp", string.Empty, StringComparison.Ordinal)} is not a key");
                }

                found++;
            }
        }

        if (found == 0)
        {
            throw Bad(source, "no OpenPGP key in the file (truncated or damaged?)");
        }

        _ = passphrase;
    }

    /// <summary>Each armored block separately (an export may hold public and secret blocks), or the binary file as one.</summary>
    private static IEnumerable<byte[]> PgpBlocks(byte[] content)
    {
        if ((content[0] & 0x80) != 0)
        {
            yield return content;
            yield break;
        }

        var text = Encoding.UTF8.GetString(content);
        var start = text.IndexOf("-----BEGIN PGP ", StringComparison.Ordinal);
        while (start >= 0)
        {
            var end = text.IndexOf("-----END PGP ", start, StringComparison.Ordinal);
            if (end < 0)
            {
                throw new IOException("an armored block has no END line");
            }

            var endOfLine = text.IndexOf('\n', end);
            endOfLine = endOfLine < 0 ? text.Length : endOfLine + 1;
            yield return Encoding.UTF8.GetBytes(text[start..endOfLine]);
            start = text.IndexOf("-----BEGIN PGP ", endOfLine, StringComparison.Ordinal);
        }
    }

    private static byte[] FirstAsn1Element(byte[] der)
    {
        AsnDecoder.ReadEncodedValue(der, AsnEncodingRules.DER, out _, out _, out var consumed);
        return der[..consumed];
    }

    private static string Describe(Exception e) => e.Message.TrimEnd('.').Split('\n')[0];

    private static KeyStoreException Bad(string source, string message, Exception? inner = null) =>
        inner is null ? new KeyStoreException($"{source}: {message}") : new KeyStoreException($"{source}: {message}", inner);

    private sealed class FixedPassword(string passphrase) : IPasswordFinder
    {
        public char[] GetPassword() => passphrase.ToCharArray();
    }
}
