using System.Formats.Asn1;
using System.Security.Cryptography;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Modes;
using Org.BouncyCastle.Crypto.Parameters;
using AuthEnvelopedDataParser = Org.BouncyCastle.Asn1.Cms.AuthEnvelopedDataParser;
using ContentInfoParser = Org.BouncyCastle.Asn1.Cms.ContentInfoParser;

namespace RuleMail.Crypto;

/// <summary>
/// AuthEnvelopedData with AES-GCM too large to hold in memory, read from its decoded CMS on a spool with BouncyCastle's
/// streaming ASN.1 parsers and decrypted with BouncyCastle's incremental GCM (.NET's <see cref="AesGcm"/> is one-shot)
/// into a second spool. The plaintext is written to that file as it is decrypted, but nothing reads it before the tag
/// has been verified: <see cref="Decrypt"/> empties the file and throws when the tag does not match. The same checks as
/// <see cref="AuthEnvelopedData"/> (cipher, key and tag sizes, nonce); what this reader does not take (authenticated
/// attributes, which OpenSSL does not write, a nonce or tag length <see cref="AesGcm"/> refuses, anything unusual) makes
/// <see cref="Read"/> return null, and the caller then takes the in-memory path, so no message is judged differently for
/// its size.
/// </summary>
/// <remarks>Not thread-safe: one message's analysis owns it.</remarks>
internal sealed class LargeAuthEnvelopedData
{
    private const int Chunk = 81920;

    private readonly Stream _contentInfo;

    private LargeAuthEnvelopedData(Stream contentInfo, List<AuthEnvelopedData.Recipient> recipients, string algorithm, byte[] nonce, int tagLength, byte[] tag)
    {
        _contentInfo = contentInfo;
        Recipients = recipients;
        Algorithm = algorithm;
        Nonce = nonce;
        TagLength = tagLength;
        Tag = tag;
    }

    public IReadOnlyList<AuthEnvelopedData.Recipient> Recipients { get; }

    /// <summary>The content encryption algorithm's OID (AES-GCM of some key size).</summary>
    public string Algorithm { get; }

    private byte[] Nonce { get; }

    private int TagLength { get; }

    private byte[] Tag { get; }

    /// <summary>
    /// Reads the structure of the ContentInfo on <paramref name="contentInfo"/> (one pass over the file: the tag comes after
    /// the ciphertext); null when it is not authEnveloped-data this reader takes, or is damaged (the in-memory path then
    /// says what is wrong, in its words).
    /// </summary>
    public static LargeAuthEnvelopedData? Read(Stream contentInfo)
    {
        try
        {
            contentInfo.Position = 0;
            var data = Parser(contentInfo);
            if (data is null)
            {
                return null;
            }

            _ = data.Version;
            if (data.GetOriginatorInfo() is not null)
            {
                return null;
            }

            var recipients = new List<AuthEnvelopedData.Recipient>();
            foreach (var info in Asn1Set.GetInstance(data.GetRecipientInfos().ToAsn1Object()))
            {
                // Other recipient kinds are skipped, as the in-memory reader skips them.
                if (info.ToAsn1Object() is Asn1Sequence keyTransport)
                {
                    recipients.Add(AuthEnvelopedData.Recipient.Read(new AsnReader(keyTransport.GetDerEncoded(), AsnEncodingRules.DER).ReadSequence()));
                }
            }

            var encrypted = data.GetAuthEncryptedContentInfo();
            var algorithm = encrypted.ContentEncryptionAlgorithm.Algorithm.Id;
            if (CmsAlgorithms.CipherOf(algorithm).Family != CmsAlgorithms.CipherFamily.AesGcm
                || encrypted.ContentEncryptionAlgorithm.Parameters is not Asn1Sequence { Count: 1 or 2 } gcm)
            {
                return null;
            }

            var nonce = Asn1OctetString.GetInstance(gcm[0]).GetOctets();
            var tagLength = gcm.Count == 2 ? DerInteger.GetInstance(gcm[1]).IntValueExact : AuthEnvelopedData.DefaultTagLength;
            if (!Fits(AesGcm.NonceByteSizes, nonce.Length) || !Fits(AesGcm.TagByteSizes, tagLength)
                || encrypted.GetEncryptedContent(Asn1Tags.OctetString) is not Asn1OctetStringParser content)
            {
                return null;
            }

            content.GetOctetStream().CopyTo(Stream.Null, Chunk);
            if (data.GetAuthAttrs() is not null)
            {
                return null;
            }

            var tag = data.GetMac().GetOctets();
            return new LargeAuthEnvelopedData(contentInfo, recipients, algorithm, nonce, tagLength, tag);
        }
#pragma warning disable CA1031 // Whatever this reader cannot read, the in-memory reader judges.
        catch (Exception e) when (e is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            return null;
        }
    }

    /// <summary>
    /// Opens the content with <paramref name="key"/> into <paramref name="plaintext"/>, rewound, once the tag is verified.
    /// Throws <see cref="CryptographicException"/> when the key does not fit (the next key is tried), and
    /// <see cref="AuthenticationTagMismatchException"/> when the content or the tag was changed; <paramref name="plaintext"/>
    /// is emptied whenever it throws.
    /// </summary>
    public void Decrypt(AuthEnvelopedData.Recipient recipient, RSA key, Stream plaintext)
    {
        var contentKey = key.Decrypt(recipient.EncryptedKey, recipient.Padding);
        AuthEnvelopedData.CheckSizes(Algorithm, contentKey, Tag.Length, TagLength);
        plaintext.SetLength(0);
        try
        {
            var gcm = new GcmBlockCipher(AesUtilities.CreateEngine());
            gcm.Init(forEncryption: false, new AeadParameters(new KeyParameter(contentKey), TagLength * 8, Nonce));
            _contentInfo.Position = 0;
            var data = Parser(_contentInfo)!;
            _ = data.Version;
            _ = data.GetOriginatorInfo();
            _ = data.GetRecipientInfos().ToAsn1Object(); // The parser reads in order: the recipients come first.
            var content = (Asn1OctetStringParser)data.GetAuthEncryptedContentInfo().GetEncryptedContent(Asn1Tags.OctetString);
            using var ciphertext = content.GetOctetStream();
            var input = new byte[Chunk];
            var output = new byte[Chunk + 64]; // GCM holds back up to a block and the tag's length.
            int read;
            while ((read = ciphertext.Read(input, 0, input.Length)) > 0)
            {
                plaintext.Write(output, 0, gcm.ProcessBytes(input, 0, read, output, 0));
            }

            // The tag goes in last, as GCM decryption expects it after the ciphertext; DoFinal checks it.
            var written = gcm.ProcessBytes(Tag, 0, Tag.Length, output, 0);
            written += gcm.DoFinal(output, written);
            plaintext.Write(output, 0, written);
            CryptographicOperations.ZeroMemory(output);
        }
        catch (InvalidCipherTextException e)
        {
            plaintext.SetLength(0);
            throw new AuthenticationTagMismatchException(e.Message, e);
        }
        catch
        {
            plaintext.SetLength(0);
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(contentKey);
        }

        plaintext.Position = 0;
    }

    /// <summary>Whether <paramref name="size"/> is one of <paramref name="sizes"/>.</summary>
    private static bool Fits(KeySizes sizes, int size) =>
        size >= sizes.MinSize && size <= sizes.MaxSize && (sizes.SkipSize == 0 ? size == sizes.MinSize : (size - sizes.MinSize) % sizes.SkipSize == 0);

    /// <summary>The authEnveloped-data of a ContentInfo read as a stream, or null when it holds another type.</summary>
    private static AuthEnvelopedDataParser? Parser(Stream contentInfo)
    {
        var info = new ContentInfoParser(new Asn1StreamParser(contentInfo).ReadObject() as Asn1SequenceParser ?? throw new IOException("not a ContentInfo"));
        return info.ContentType.Id == AuthEnvelopedData.ContentTypeOid
            ? new AuthEnvelopedDataParser((Asn1SequenceParser)info.GetContent(Asn1Tags.Sequence))
            : null;
    }
}
