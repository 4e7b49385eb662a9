using System.Formats.Asn1;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1;
using ContentInfoParser = Org.BouncyCastle.Asn1.Cms.ContentInfoParser;
using EnvelopedDataParser = Org.BouncyCastle.Asn1.Cms.EnvelopedDataParser;
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

    /// <summary>The identities of the store's certificates, formatted once per certificate instance rather than per message.</summary>
    private static readonly ConditionalWeakTable<X509Certificate2, string[]> Identities = [];

    private readonly SmimeKeyPool<AsymmetricAlgorithm> _envelopedKeys = new(c => (AsymmetricAlgorithm?)c.GetRSAPrivateKey() ?? c.GetECDiffieHellmanPrivateKey());
    private readonly SmimeKeyPool<RSA> _rsaKeys = new(c => c.GetRSAPrivateKey());

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
    }

    /// <summary>
    /// Opens enveloped-data too large to hold in memory: <paramref name="contentInfo"/> (the decoded CMS, on a spool) is
    /// read with BouncyCastle's streaming ASN.1 parser and its content decrypted with .NET's AES/3DES (OpenSSL) straight
    /// into <paramref name="plaintext"/>, which holds the plaintext, rewound, on success and is emptied otherwise. The
    /// same key order, attempt limit, facts and comments as <see cref="Decrypt"/>. AuthEnvelopedData (AES-GCM) is opened
    /// the same way by <see cref="LargeAuthEnvelopedData"/>, its plaintext released only once the tag is verified. Null
    /// when the message uses what this path does not read (a recipient other than RSA key transport, a cipher other than
    /// AES-CBC, 3DES or AES-GCM): the caller then takes the in-memory path, so no message is judged differently for its size.
    /// </summary>
    public (SecurityOutcome Outcome, bool Decrypted)? DecryptLarge(Stream contentInfo, Stream plaintext, IReadOnlyList<string> preferred)
    {
        if (ContentType(contentInfo) == AuthEnvelopedData.ContentTypeOid)
        {
            return DecryptLargeAuthEnveloped(contentInfo, plaintext, preferred);
        }

        List<AuthEnvelopedData.Recipient> recipients;
        string algorithm;
        byte[] iv;
        try
        {
            contentInfo.Position = 0;
            var enveloped = EnvelopedParser(contentInfo);
            if (enveloped is null)
            {
                return null;
            }

            recipients = [];
            foreach (var info in Asn1Set.GetInstance(enveloped.GetRecipientInfos().ToAsn1Object()))
            {
                if (info.ToAsn1Object() is not Asn1Sequence keyTransport)
                {
                    return null;
                }

                recipients.Add(AuthEnvelopedData.Recipient.Read(new AsnReader(keyTransport.GetDerEncoded(), AsnEncodingRules.DER).ReadSequence()));
            }

            var encrypted = enveloped.GetEncryptedContentInfo();
            algorithm = encrypted.ContentEncryptionAlgorithm.Algorithm.Id;
            if (CmsAlgorithms.CipherOf(algorithm).Family is not (CmsAlgorithms.CipherFamily.AesCbc or CmsAlgorithms.CipherFamily.TripleDesCbc)
                || encrypted.ContentEncryptionAlgorithm.Parameters is not Asn1OctetString parameters)
            {
                return null;
            }

            iv = parameters.GetOctets();
        }
        catch (Exception e) when (e is IOException or Asn1Exception or InvalidCastException or ArgumentException or CryptographicException or AsnContentException)
        {
            return null; // Damaged or unusual: the in-memory path says what is wrong, in its words.
        }

        var cipher = CmsAlgorithms.CipherOf(algorithm);
        var facts = new SecurityOutcome(false, string.Empty) { Cipher = cipher.Name, Integrity = Integrity.None };
        var pairs = Pairs(recipients, r => r.Identity, AuthEnvelopedData.Recipient.IdentitiesOf, preferred);
        try
        {
            var (outcome, opened) = TryKeys(facts, pairs, _rsaKeys, (candidate, recipient, key) =>
            {
                var contentKey = key.Decrypt(recipient.EncryptedKey, recipient.Padding);
                try
                {
                    if (contentKey.Length != cipher.KeyBytes)
                    {
                        throw new CryptographicException("the content key has the wrong size");
                    }

                    plaintext.SetLength(0);
                    contentInfo.Position = 0;
                    var again = EnvelopedParser(contentInfo)!;
                    _ = again.GetRecipientInfos().ToAsn1Object(); // The parser reads in order: the recipients come first.
                    var content = again.GetEncryptedContentInfo().GetEncryptedContent(Asn1Tags.OctetString);
                    using var symmetric = StreamedCipher(cipher);
                    using var decryptor = symmetric.CreateDecryptor(contentKey, iv);
                    using var decrypting = new CryptoStream(((Asn1OctetStringParser)content).GetOctetStream(), decryptor, CryptoStreamMode.Read);
                    decrypting.CopyTo(plaintext, 81920);
                }
                catch (CryptographicException)
                {
                    plaintext.SetLength(0);
                    throw;
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(contentKey);
                }

                plaintext.Position = 0;
                return (facts with { Success = true, Comment = Decrypted(candidate, cipher, integrity: false) }, plaintext);
            });
            return (outcome, opened is not null);
        }
        catch (Exception e) when (e is IOException or Asn1Exception or InvalidCastException)
        {
            return Unreadable(plaintext, e);
        }
    }

    /// <summary>
    /// Opens authEnveloped-data (AES-GCM) too large to hold in memory (<see cref="LargeAuthEnvelopedData"/>), as
    /// <see cref="DecryptLarge"/> does enveloped-data and with the same judgement as <see cref="DecryptAuthEnveloped"/>: a
    /// tag that does not match fails the integrity check, and <paramref name="plaintext"/> is then empty.
    /// </summary>
    private (SecurityOutcome Outcome, bool Decrypted)? DecryptLargeAuthEnveloped(Stream contentInfo, Stream plaintext, IReadOnlyList<string> preferred)
    {
        if (LargeAuthEnvelopedData.Read(contentInfo) is not { } data)
        {
            return null;
        }

        var cipher = CmsAlgorithms.CipherOf(data.Algorithm);
        var facts = new SecurityOutcome(false, string.Empty) { Cipher = cipher.Name, Integrity = Integrity.Aead };
        var pairs = Pairs(data.Recipients, r => r.Identity, AuthEnvelopedData.Recipient.IdentitiesOf, preferred);
        try
        {
            var (outcome, opened) = TryKeys(facts, pairs, _rsaKeys, (candidate, recipient, key) =>
            {
                try
                {
                    data.Decrypt(recipient, key, plaintext);
                    return (facts with { Success = true, Comment = Decrypted(candidate, cipher, integrity: true) }, plaintext);
                }
                catch (AuthenticationTagMismatchException)
                {
                    // The content key opened, so this was the right recipient: the content itself was changed.
                    return (facts with { Comment = SecurityComments.IntegrityCheckFailed }, null);
                }
            });
            return (outcome, opened is not null);
        }
        catch (Exception e) when (e is IOException or Asn1Exception or InvalidCastException)
        {
            return Unreadable(plaintext, e);
        }
    }

    /// <summary>A large encrypted part that broke while read: nothing of it is kept, and the reason is the read's.</summary>
    private static (SecurityOutcome Outcome, bool Decrypted) Unreadable(Stream plaintext, Exception e)
    {
        plaintext.SetLength(0);
        return (SecurityOutcome.Failed(SecurityComments.Malformed($"the S/MIME encrypted data cannot be read ({e.Message.TrimEnd('.')})")), false);
    }

    private static SymmetricAlgorithm StreamedCipher(CmsAlgorithms.Cipher cipher)
    {
#pragma warning disable CA5350 // Legacy ciphers still decrypt old mail (DESIGN.md's policy); the comment names them as legacy.
        SymmetricAlgorithm symmetric = cipher.Family == CmsAlgorithms.CipherFamily.TripleDesCbc ? TripleDES.Create() : Aes.Create();
#pragma warning restore CA5350
        symmetric.Mode = CipherMode.CBC;
        symmetric.Padding = PaddingMode.PKCS7;
        return symmetric;
    }

    /// <summary>The enveloped-data of a ContentInfo read as a stream, or null when it holds another type.</summary>
    private static EnvelopedDataParser? EnvelopedParser(Stream contentInfo)
    {
        var info = new ContentInfoParser(new Asn1StreamParser(contentInfo).ReadObject() as Asn1SequenceParser ?? throw new IOException("not a ContentInfo"));
        return info.ContentType.Id == EnvelopedDataOid
            ? new EnvelopedDataParser((Asn1SequenceParser)info.GetContent(Asn1Tags.Sequence))
            : null;
    }

    /// <summary>The CMS content type of a ContentInfo on a stream (read from its first bytes, then rewound), or null when it is not one.</summary>
    public static string? ContentType(Stream contentInfo)
    {
        try
        {
            contentInfo.Position = 0;
            return new Asn1StreamParser(contentInfo).ReadObject() is Asn1SequenceParser sequence ? new ContentInfoParser(sequence).ContentType?.Id : null;
        }
        catch (Exception e) when (e is IOException or Asn1Exception or InvalidCastException or ArgumentException)
        {
            return null;
        }
        finally
        {
            contentInfo.Position = 0;
        }
    }

    private (SecurityOutcome, byte[]?) DecryptEnveloped(byte[] contentInfo, IReadOnlyList<string> preferred)
    {
        var cms = new EnvelopedCms();
        cms.Decode(contentInfo);
        var cipher = CmsAlgorithms.CipherOf(cms.ContentEncryptionAlgorithm.Oid.Value);
        var facts = new SecurityOutcome(false, string.Empty) { Cipher = cipher.Name, Integrity = Integrity.None };
        var recipients = cms.RecipientInfos.Cast<RecipientInfo>().ToList();
        var pairs = Pairs(recipients, r => SmimeRecipients.IdentityOf(r.RecipientIdentifier), IdentitiesOf, preferred);
        return TryKeys(facts, pairs, _envelopedKeys, (candidate, recipient, key) =>
        {
            cms.Decrypt(recipient, key);
            return (facts with { Success = true, Comment = Decrypted(candidate, cipher, integrity: false) }, cms.ContentInfo.Content);
        });
    }

    private (SecurityOutcome, byte[]?) DecryptAuthEnveloped(AuthEnvelopedData data, IReadOnlyList<string> preferred)
    {
        var cipher = CmsAlgorithms.CipherOf(data.Algorithm);
        var facts = new SecurityOutcome(false, string.Empty) { Cipher = cipher.Name, Integrity = Integrity.Aead };
        var pairs = Pairs(data.Recipients, r => r.Identity, AuthEnvelopedData.Recipient.IdentitiesOf, preferred);
        return TryKeys(facts, pairs, _rsaKeys, (candidate, recipient, key) =>
        {
            try
            {
                return (facts with { Success = true, Comment = Decrypted(candidate, cipher, integrity: true) }, data.Decrypt(recipient, key));
            }
            catch (AuthenticationTagMismatchException)
            {
                // The content key opened, so this was the right recipient: the content itself was changed.
                return (facts with { Comment = SecurityComments.IntegrityCheckFailed }, null);
            }
        });
    }

    /// <summary>
    /// Tries <paramref name="pairs"/> in order, opening each candidate's private key once, with at most
    /// <see cref="SecurityPolicy.MaxKeyAttempts"/> decrypt calls per message. <paramref name="attempt"/> decides the
    /// message or throws a <see cref="CryptographicException"/> to go on with the next pair. Key objects come from
    /// <paramref name="keys"/> and go back to it.
    /// </summary>
    private (SecurityOutcome, TResult?) TryKeys<TRecipient, TKey, TResult>(
        SecurityOutcome facts,
        IEnumerable<(SmimeCertificateEntry Candidate, TRecipient Recipient)> pairs,
        SmimeKeyPool<TKey> keys,
        Func<SmimeCertificateEntry, TRecipient, TKey, (SecurityOutcome, TResult?)> attempt)
        where TKey : AsymmetricAlgorithm
        where TResult : class
    {
        var attempts = 0;
        CryptographicException? failure = null;
        SmimeCertificateEntry? opened = null;
        X509Certificate2? source = null;
        TKey? key = null;
        void GiveBack()
        {
            if (key is not null)
            {
                keys.Return(source!, key);
                key = null;
            }
        }

        try
        {
            foreach (var (candidate, recipient) in pairs)
            {
                if (!ReferenceEquals(candidate, opened))
                {
                    GiveBack();
                    source = store.OpenPrivateKey(candidate);
                    key = keys.Rent(source);
                    opened = candidate;
                }

                if (key is null)
                {
                    continue;
                }

                if (attempts == policy.MaxKeyAttempts)
                {
                    return (facts with { Comment = SecurityComments.TooManyKeyAttempts(policy.MaxKeyAttempts) }, null);
                }

                attempts++;
                try
                {
                    return attempt(candidate, recipient, key);
                }
                catch (CryptographicException e)
                {
                    failure = e;
                }
            }
        }
        finally
        {
            GiveBack();
        }

        return (facts with
        {
            Comment = failure is null
                ? SecurityComments.PrivateKeyNotFound
                : SecurityComments.Malformed($"the matching private key did not open the message ({failure.Message.TrimEnd('.')})"),
        }, null);
    }

    /// <summary>
    /// The (private key, recipient) pairs worth a decrypt attempt, keys of the preferred addresses first. One pass
    /// over the recipients against an index of the store's private keys, so a message naming 100,000 recipients
    /// costs 100,000 look-ups, not 100,000 times the number of keys; at most <see cref="SecurityPolicy.MaxKeyAttempts"/>
    /// + 1 recipients are kept per key, since no more can ever be tried (the extra one tells the caller the cap ended
    /// the search).
    /// </summary>
    private IEnumerable<(SmimeCertificateEntry Candidate, TRecipient Recipient)> Pairs<TRecipient>(
        IReadOnlyList<TRecipient> recipients,
        Func<TRecipient, string?> identityOfRecipient,
        Func<X509Certificate2, IEnumerable<string>> identitiesOfCertificate,
        IReadOnlyList<string> preferred)
    {
        var candidates = Candidates(preferred).ToList();
        var byIdentity = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < candidates.Count; i++)
        {
            foreach (var identity in identitiesOfCertificate(candidates[i].Certificate))
            {
                if (!byIdentity.TryGetValue(identity, out var indexes))
                {
                    byIdentity[identity] = indexes = [];
                }

                if (indexes.Count == 0 || indexes[^1] != i)
                {
                    indexes.Add(i);
                }
            }
        }

        var matched = new List<TRecipient>?[candidates.Count];
        var keep = policy.MaxKeyAttempts + 1;
        foreach (var recipient in recipients)
        {
            if (identityOfRecipient(recipient) is not { } identity || !byIdentity.TryGetValue(identity, out var indexes))
            {
                continue;
            }

            foreach (var i in indexes)
            {
                var list = matched[i] ??= [];
                if (list.Count < keep)
                {
                    list.Add(recipient);
                }
            }
        }

        for (var i = 0; i < candidates.Count; i++)
        {
            foreach (var recipient in matched[i] ?? [])
            {
                yield return (candidates[i], recipient);
            }
        }
    }

    private static string[] IdentitiesOf(X509Certificate2 certificate) =>
        Identities.GetValue(certificate, c => [.. SmimeRecipients.IdentitiesOf(c)]);

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

    /// <summary>
    /// "Decrypted with the private key of X (certificate ..., cipher[, without integrity protection])": the cipher
    /// and the lack of integrity are named so a reader knows what the decryption is worth, legacy ciphers flagged.
    /// </summary>
    private static string Decrypted(SmimeCertificateEntry entry, CmsAlgorithms.Cipher cipher, bool integrity)
    {
        var detail = $"certificate {entry.Subject}, {cipher.Display}";
        if (cipher.Legacy)
        {
            detail += " (a legacy cipher)";
        }

        if (!integrity)
        {
            detail += ", without integrity protection";
        }

        return SecurityComments.DecryptedFor(entry.Addresses.Count > 0 ? entry.Addresses[0] : entry.Subject, detail);
    }
}
