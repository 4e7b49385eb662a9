using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RuleMail.Keys;

namespace RuleMail.Crypto;

/// <summary>
/// CMS AuthEnvelopedData with AES-GCM (RFC 5083/5084), as OpenSSL 3 writes for <c>-aes-256-gcm</c>.
/// Neither System.Security.Cryptography.Pkcs nor BouncyCastle's C# CMS reads it, so the structure is read
/// here with System.Formats.Asn1; the cryptography is .NET's RSA and AesGcm. Only RSA key transport
/// recipients are supported (PKCS#1 v1.5 and OAEP).
/// </summary>
internal sealed class AuthEnvelopedData
{
    public const string ContentTypeOid = "1.2.840.113549.1.9.16.1.23";
    private const string RsaOaepOid = "1.2.840.113549.1.1.7";

    /// <summary>The tag length GCMParameters imply when they name none (RFC 5084 section 3.2).</summary>
    public const int DefaultTagLength = 12;

    private AuthEnvelopedData(List<Recipient> recipients, string algorithm, byte[] nonce, int tagLength, byte[] ciphertext, byte[]? additionalData, byte[] tag)
    {
        Recipients = recipients;
        Algorithm = algorithm;
        Nonce = nonce;
        TagLength = tagLength;
        Ciphertext = ciphertext;
        AdditionalData = additionalData;
        Tag = tag;
    }

    public IReadOnlyList<Recipient> Recipients { get; }

    /// <summary>The content encryption algorithm's OID (AES-GCM of some key size).</summary>
    public string Algorithm { get; }

    private byte[] Nonce { get; }

    private int TagLength { get; }

    private byte[] Ciphertext { get; }

    private byte[]? AdditionalData { get; }

    private byte[] Tag { get; }

    /// <summary>Reads the ContentInfo. Throws <see cref="AsnContentException"/> or <see cref="CryptographicException"/> on damage.</summary>
    public static AuthEnvelopedData Decode(byte[] contentInfo)
    {
        var outer = new AsnReader(contentInfo, AsnEncodingRules.BER).ReadSequence();
        if (outer.ReadObjectIdentifier() != ContentTypeOid)
        {
            throw new CryptographicException("not AuthEnvelopedData");
        }

        var data = outer.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)).ReadSequence();
        data.ReadInteger();
        if (data.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0)))
        {
            data.ReadEncodedValue();
        }

        var recipients = new List<Recipient>();
        var recipientSet = data.ReadSetOf(skipSortOrderValidation: true);
        while (recipientSet.HasData)
        {
            if (!recipientSet.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
            {
                recipientSet.ReadEncodedValue();
                continue;
            }

            recipients.Add(Recipient.Read(recipientSet.ReadSequence()));
        }

        var encryptedContentInfo = data.ReadSequence();
        encryptedContentInfo.ReadObjectIdentifier();
        var algorithm = encryptedContentInfo.ReadSequence();
        var algorithmOid = algorithm.ReadObjectIdentifier();
        if (CmsAlgorithms.CipherOf(algorithmOid).Family != CmsAlgorithms.CipherFamily.AesGcm)
        {
            throw new CryptographicException($"unsupported content encryption {algorithmOid} (AES-GCM expected)");
        }

        var gcm = algorithm.ReadSequence();
        var nonce = gcm.ReadOctetString();
        var tagLength = gcm.HasData ? (int)gcm.ReadInteger() : DefaultTagLength;
        var ciphertext = encryptedContentInfo.ReadOctetString(new Asn1Tag(TagClass.ContextSpecific, 0));

        byte[]? additionalData = null;
        var authAttributesTag = new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true);
        if (data.PeekTag().HasSameClassAndValue(authAttributesTag))
        {
            // The MAC covers the attributes DER-encoded as a SET OF (RFC 5083 section 2.2).
            var encoded = data.ReadEncodedValue().ToArray();
            var attributes = new AsnReader(encoded, AsnEncodingRules.BER).ReadSetOf(skipSortOrderValidation: true, expectedTag: authAttributesTag);
            var writer = new AsnWriter(AsnEncodingRules.DER);
            using (writer.PushSetOf())
            {
                while (attributes.HasData)
                {
                    writer.WriteEncodedValue(attributes.ReadEncodedValue().Span);
                }
            }

            additionalData = writer.Encode();
        }

        var tag = data.ReadOctetString();
        return new AuthEnvelopedData(recipients, algorithmOid, nonce, tagLength, ciphertext, additionalData, tag);
    }

    /// <summary>Opens the content with <paramref name="key"/>; throws <see cref="CryptographicException"/> when the key or the tag does not fit.</summary>
    public byte[] Decrypt(Recipient recipient, RSA key)
    {
        var contentKey = key.Decrypt(recipient.EncryptedKey, recipient.Padding);
        CheckSizes(Algorithm, contentKey, Tag.Length, TagLength);

        var plaintext = new byte[Ciphertext.Length];
        using var aes = new AesGcm(contentKey, TagLength);
        aes.Decrypt(Nonce, Ciphertext, Tag, plaintext, AdditionalData);
        CryptographicOperations.ZeroMemory(contentKey);
        return plaintext;
    }

    /// <summary>
    /// Throws <see cref="CryptographicException"/> (the key did not fit: the next key is tried) when the content key is not
    /// the size the algorithm needs or the tag not the length the parameters name; the key is wiped first then.
    /// </summary>
    public static void CheckSizes(string algorithm, byte[] contentKey, int tagLength, int expectedTagLength)
    {
        if (contentKey.Length != CmsAlgorithms.CipherOf(algorithm).KeyBytes || tagLength != expectedTagLength)
        {
            CryptographicOperations.ZeroMemory(contentKey);
            throw new CryptographicException("the content key or tag has the wrong size");
        }
    }

    /// <summary>A key transport recipient.</summary>
    internal sealed class Recipient
    {
        public byte[] EncryptedKey { get; private set; } = [];

        public RSAEncryptionPadding Padding { get; private set; } = RSAEncryptionPadding.Pkcs1;

        /// <summary>Who the recipient names, in the form <see cref="IdentitiesOf"/> gives for a certificate, or null when it names nobody.</summary>
        public string? Identity { get; private set; }

        /// <summary>The identities a recipient naming <paramref name="certificate"/> would have: issuer and serial, and each subject key identifier.</summary>
        public static IEnumerable<string> IdentitiesOf(X509Certificate2 certificate)
        {
            yield return IssuerSerialIdentity(certificate.IssuerName.RawData, new BigInteger(certificate.SerialNumberBytes.Span, isUnsigned: true, isBigEndian: true));
            foreach (var extension in certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>())
            {
                yield return KeyIdentifierIdentity(extension.SubjectKeyIdentifierBytes.Span);
            }
        }

        private static string IssuerSerialIdentity(ReadOnlySpan<byte> issuer, BigInteger serial) => $"issuer:{Convert.ToHexString(issuer)}:{serial}";

        private static string KeyIdentifierIdentity(ReadOnlySpan<byte> keyIdentifier) => $"ski:{Convert.ToHexString(keyIdentifier)}";

        public static Recipient Read(AsnReader keyTransport)
        {
            var recipient = new Recipient();
            keyTransport.ReadInteger();
            if (keyTransport.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
            {
                var issuerAndSerial = keyTransport.ReadSequence();
                var issuer = issuerAndSerial.ReadEncodedValue().Span;
                recipient.Identity = IssuerSerialIdentity(issuer, issuerAndSerial.ReadInteger());
            }
            else
            {
                recipient.Identity = KeyIdentifierIdentity(keyTransport.ReadOctetString(new Asn1Tag(TagClass.ContextSpecific, 0)));
            }

            var algorithm = keyTransport.ReadSequence();
            var oid = algorithm.ReadObjectIdentifier();
            recipient.Padding = oid switch
            {
                KeyAlgorithmOids.Rsa => RSAEncryptionPadding.Pkcs1,
                RsaOaepOid => OaepPadding(algorithm),
                _ => throw new CryptographicException($"unsupported key transport {oid}"),
            };
            recipient.EncryptedKey = keyTransport.ReadOctetString();
            return recipient;
        }

        private static RSAEncryptionPadding OaepPadding(AsnReader algorithm)
        {
            if (!algorithm.HasData || algorithm.PeekTag().HasSameClassAndValue(Asn1Tag.Null))
            {
                return RSAEncryptionPadding.OaepSHA1;
            }

            var parameters = algorithm.ReadSequence();
            var hashTag = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
            if (!parameters.HasData || !parameters.PeekTag().HasSameClassAndValue(hashTag))
            {
                return RSAEncryptionPadding.OaepSHA1;
            }

            var hash = parameters.ReadSequence(hashTag).ReadSequence().ReadObjectIdentifier();
            return hash switch
            {
                "1.3.14.3.2.26" => RSAEncryptionPadding.OaepSHA1,
                "2.16.840.1.101.3.4.2.1" => RSAEncryptionPadding.OaepSHA256,
                "2.16.840.1.101.3.4.2.2" => RSAEncryptionPadding.OaepSHA384,
                "2.16.840.1.101.3.4.2.3" => RSAEncryptionPadding.OaepSHA512,
                _ => throw new CryptographicException($"unsupported OAEP hash {hash}"),
            };
        }
    }
}
