using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using RuleMail.Keys;

namespace RuleMail.Crypto;

/// <summary>
/// Opens S/MIME enveloped-data (System.Security.Cryptography.Pkcs, OpenSSL underneath) and
/// authEnveloped-data (<see cref="AuthEnvelopedData"/>) with the store's private keys: those of the
/// preferred addresses first, then every other one. Keys of expired certificates still open old mail.
/// </summary>
internal sealed class SmimeDecryption(KeyStore store, SecurityPolicy policy)
{
    public const string EnvelopedDataOid = "1.2.840.113549.1.7.3";
    public const string SignedDataOid = "1.2.840.113549.1.7.2";

    /// <summary>The CMS content type of a ContentInfo, or null when the bytes are not one.</summary>
    public static string? ContentType(byte[] contentInfo)
    {
        try
        {
            return new AsnReader(contentInfo, AsnEncodingRules.BER).ReadSequence().ReadObjectIdentifier();
        }
        catch (AsnContentException)
        {
            return null;
        }
    }

    public (SecurityOutcome Outcome, byte[]? Plaintext) Decrypt(byte[] contentInfo, IReadOnlyList<string> preferred)
    {
        try
        {
            return ContentType(contentInfo) == AuthEnvelopedData.ContentTypeOid
                ? DecryptAuthEnveloped(AuthEnvelopedData.Decode(contentInfo), preferred)
                : DecryptEnveloped(contentInfo, preferred);
        }
        catch (Exception e) when (e is CryptographicException or AsnContentException)
        {
            return (SecurityOutcome.Failed(SecurityComments.Malformed($"the S/MIME encrypted data cannot be read ({e.Message.TrimEnd('.')})")), null);
        }
        catch (KeyStoreException e)
        {
            return (SecurityOutcome.Failed(SecurityComments.PrivateKeyUnavailable(e.Message)), null);
        }
    }

    private (SecurityOutcome, byte[]?) DecryptEnveloped(byte[] contentInfo, IReadOnlyList<string> preferred)
    {
        var cms = new EnvelopedCms();
        cms.Decode(contentInfo);
        CryptographicException? failure = null;
        foreach (var candidate in Candidates(preferred).Take(policy.MaxKeyAttempts))
        {
            foreach (var recipient in cms.RecipientInfos)
            {
                if (!SmimeRecipients.Matches(recipient.RecipientIdentifier, candidate.Certificate))
                {
                    continue;
                }

                var certificate = store.OpenPrivateKey(candidate);
                using var key = (AsymmetricAlgorithm?)certificate.GetRSAPrivateKey() ?? certificate.GetECDiffieHellmanPrivateKey();
                if (key is null)
                {
                    continue;
                }

                try
                {
                    cms.Decrypt(recipient, key);
                    return (SecurityOutcome.Succeeded(Decrypted(candidate)), cms.ContentInfo.Content);
                }
                catch (CryptographicException e)
                {
                    failure = e;
                }
            }
        }

        return failure is null
            ? (SecurityOutcome.Failed(SecurityComments.PrivateKeyNotFound), null)
            : (SecurityOutcome.Failed(SecurityComments.Malformed($"the matching private key did not open the message ({failure.Message.TrimEnd('.')})")), null);
    }

    private (SecurityOutcome, byte[]?) DecryptAuthEnveloped(AuthEnvelopedData data, IReadOnlyList<string> preferred)
    {
        foreach (var candidate in Candidates(preferred).Take(policy.MaxKeyAttempts))
        {
            var recipient = data.Recipients.FirstOrDefault(r => r.Matches(candidate.Certificate));
            if (recipient is null)
            {
                continue;
            }

            using var key = store.OpenPrivateKey(candidate).GetRSAPrivateKey();
            if (key is null)
            {
                continue;
            }

            try
            {
                return (SecurityOutcome.Succeeded(Decrypted(candidate)), data.Decrypt(recipient, key));
            }
            catch (AuthenticationTagMismatchException)
            {
                return (SecurityOutcome.Failed(SecurityComments.IntegrityCheckFailed), null);
            }
        }

        return (SecurityOutcome.Failed(SecurityComments.PrivateKeyNotFound), null);
    }

    private IEnumerable<SmimeCertificateEntry> Candidates(IReadOnlyList<string> preferred)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var address in preferred)
        {
            foreach (var entry in store.FindSmime(address).Where(e => e.HasPrivateKey && seen.Add(e.Fingerprint)))
            {
                yield return entry;
            }
        }

        foreach (var entry in store.Certificates.Where(e => e.HasPrivateKey && seen.Add(e.Fingerprint)))
        {
            yield return entry;
        }
    }

    private static string Decrypted(SmimeCertificateEntry entry) =>
        SecurityComments.DecryptedFor(entry.Addresses.Count > 0 ? entry.Addresses[0] : entry.Subject, $"certificate {entry.Subject}");
}
