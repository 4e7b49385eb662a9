using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RuleMail.Crypto;

/// <summary>
/// Writes CMS enveloped-data (RFC 5652 section 6) as <see cref="System.Security.Cryptography.Pkcs.EnvelopedCms"/> does for
/// RuleMail's outgoing mail: version 0, one KeyTransRecipientInfo per certificate (IssuerAndSerialNumber, RSA PKCS#1 v1.5),
/// id-data content under AES-CBC with a fresh random key and IV. EnvelopedCms decodes each recipient's public key from its
/// certificate for every message, which costs OpenSSL 3.0 more than the RSA encryption; here the keys come from a pool.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class EnvelopedDataWriter
{
    private const string RsaEncryptionOid = "1.2.840.113549.1.1.1";

    private static readonly Dictionary<string, int> KeySizes = new(StringComparer.Ordinal)
    {
        [OutgoingRequest.Aes128CbcOid] = 16,
        [OutgoingRequest.Aes192CbcOid] = 24,
        [OutgoingRequest.Aes256CbcOid] = 32,
    };

    private readonly SmimeKeyPool<RSA> _publicKeys = new(c => c.GetRSAPublicKey());

    /// <summary>The ContentInfo of <paramref name="content"/> encrypted to <paramref name="recipients"/> with the AES-CBC cipher <paramref name="cipherOid"/>.</summary>
    /// <exception cref="CryptographicException">A recipient without an RSA key, or a cipher other than AES-CBC.</exception>
    public byte[] Encrypt(byte[] content, IReadOnlyList<X509Certificate2> recipients, string cipherOid)
    {
        if (!KeySizes.TryGetValue(cipherOid, out var keySize))
        {
            throw new CryptographicException($"the content cipher {cipherOid} is not AES-CBC");
        }

        var contentKey = RandomNumberGenerator.GetBytes(keySize);
        try
        {
            var iv = RandomNumberGenerator.GetBytes(16);
            byte[] ciphertext;
            using (var aes = Aes.Create())
            {
                aes.Key = contentKey;
                ciphertext = aes.EncryptCbc(content, iv, PaddingMode.PKCS7);
            }

            var writer = new AsnWriter(AsnEncodingRules.DER);
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(SmimeDecryption.EnvelopedDataOid);
                using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
                using (writer.PushSequence())
                {
                    writer.WriteInteger(0);
                    using (writer.PushSetOf())
                    {
                        foreach (var recipient in recipients)
                        {
                            WriteRecipient(writer, recipient, contentKey);
                        }
                    }

                    using (writer.PushSequence())
                    {
                        writer.WriteObjectIdentifier(CmsSignedData.DataOid);
                        using (writer.PushSequence())
                        {
                            writer.WriteObjectIdentifier(cipherOid);
                            writer.WriteOctetString(iv);
                        }

                        writer.WriteOctetString(ciphertext, new Asn1Tag(TagClass.ContextSpecific, 0));
                    }
                }
            }

            return writer.Encode();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(contentKey);
        }
    }

    private void WriteRecipient(AsnWriter writer, X509Certificate2 recipient, byte[] contentKey)
    {
        var key = _publicKeys.Rent(recipient) ?? throw new CryptographicException($"the certificate {recipient.Subject} has no RSA key");
        byte[] encryptedKey;
        try
        {
            encryptedKey = key.Encrypt(contentKey, RSAEncryptionPadding.Pkcs1);
        }
        finally
        {
            _publicKeys.Return(recipient, key);
        }

        using (writer.PushSequence())
        {
            writer.WriteInteger(0);
            using (writer.PushSequence())
            {
                writer.WriteEncodedValue(recipient.IssuerName.RawData);
                writer.WriteInteger(recipient.SerialNumberBytes.Span);
            }

            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(RsaEncryptionOid);
                writer.WriteNull();
            }

            writer.WriteOctetString(encryptedKey);
        }
    }
}
