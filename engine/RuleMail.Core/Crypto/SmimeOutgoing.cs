using System.Collections.Concurrent;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using MimeKit;
using RuleMail.Keys;

namespace RuleMail.Crypto;

/// <summary>
/// S/MIME for outgoing mail on System.Security.Cryptography.Pkcs (OpenSSL underneath): detached
/// multipart/signed (SHA-256, signing time, the chain up to but not including the root) and enveloped-data
/// (AES-CBC, RSA key transport: <see cref="EnvelopedDataWriter"/>), with the store's certificates. Signing keys, recipient
/// keys and each signer's intermediates are kept between messages.
/// </summary>
internal sealed class SmimeOutgoing(KeyStore store)
{
    public const string Protocol = "application/pkcs7-signature";
    public const string Micalg = "sha-256";

    private const string Sha256Oid = "2.16.840.1.101.3.4.2.1";
    private const string SmimeCapabilitiesOid = "1.2.840.113549.1.9.15";

    /// <summary>Signers whose intermediates are kept; the cache is cleared when full.</summary>
    private const int MaxCachedChains = 1_000;

    private static readonly string[] Ciphers = [OutgoingRequest.Aes256CbcOid, OutgoingRequest.Aes192CbcOid, OutgoingRequest.Aes128CbcOid];

    /// <summary>The intermediates found per signer fingerprint, for one store version and one day (a chain is built from the store's CAs at a date).</summary>
    private readonly ConcurrentDictionary<string, (object Version, DateTime Day, X509Certificate2[] Intermediates)> _chains = new(StringComparer.Ordinal);

    private readonly EnvelopedDataWriter _envelopes = new();

    private readonly SmimeKeyPool<AsymmetricAlgorithm> _signingKeys = new(c => (AsymmetricAlgorithm?)c.GetRSAPrivateKey() ?? c.GetECDsaPrivateKey());

    /// <summary>Finds every certificate the request needs, or says which one is missing. Nothing is signed or encrypted yet.</summary>
    public Plan? Prepare(OutgoingRequest request, string? sender, IReadOnlyList<string> recipients, List<string> notes, out string? refusal)
    {
        refusal = null;
        SmimeCertificateEntry? signer = null;
        X509Certificate2? signerKey = null;
        if (request.Sign)
        {
            signer = sender is null ? null : store.FindSmime(sender, KeyUsages.Sign, needPrivateKey: true);
            if (signer is null)
            {
                refusal = sender is null ? OutgoingRefusals.NoSender(SecurityResult.SmimeType) : OutgoingRefusals.NoSigningCertificate(sender);
                return null;
            }

            try
            {
                signerKey = store.OpenPrivateKey(signer);
            }
            catch (KeyStoreException e)
            {
                refusal = OutgoingRefusals.PrivateKeyUnavailable(SecurityResult.SmimeType, sender!, e.Message);
                return null;
            }
        }

        var encryptTo = new List<SmimeCertificateEntry>();
        if (request.Encrypt)
        {
            if (!Ciphers.Contains(request.SmimeCipherOid, StringComparer.Ordinal))
            {
                refusal = OutgoingRefusals.UnsupportedCipher(request.SmimeCipherOid);
                return null;
            }

            foreach (var recipient in recipients)
            {
                var certificate = EncryptionCertificate(recipient, out refusal);
                if (certificate is null)
                {
                    return null;
                }

                AddOnce(encryptTo, certificate);
                notes.Add($"Encrypted for {recipient} with the certificate {certificate.Subject} ({certificate.Fingerprint[..16]})");
            }

            if (request.EncryptToSender && sender is not null)
            {
                var own = EncryptionCertificate(sender, out var missing);
                if (own is null)
                {
                    notes.Add($"The sent copy cannot be decrypted by {sender}: {missing}");
                }
                else
                {
                    AddOnce(encryptTo, own);
                    notes.Add($"Encrypted for the sender {sender} too, with the certificate {own.Subject} ({own.Fingerprint[..16]})");
                }
            }
        }

        refusal = null;
        return new Plan(signer, signerKey, encryptTo, request.SmimeCipherOid);
    }

    /// <summary>Signs and/or encrypts the prepared entity. Throws only on a cryptographic failure (the caller turns it into a refusal).</summary>
    public MimeEntity Protect(Plan plan, MimeEntity entity, byte[] canonical, string? sender, List<string> notes)
    {
        if (plan.Signer is not null && plan.SignerKey is not null)
        {
            entity = Sign(plan.Signer, plan.SignerKey, entity, canonical, sender!, notes);
            (entity, canonical) = OutgoingContent.Reparse(entity);
        }

        if (plan.EncryptTo.Count > 0)
        {
            entity = Encrypt(plan, canonical);
        }

        return entity;
    }

    private Multipart Sign(SmimeCertificateEntry entry, X509Certificate2 certificate, MimeEntity entity, byte[] canonical, string sender, List<string> notes)
    {
        var now = store.Time.GetUtcNow();

        // The private key comes from a pool: CmsSigner would otherwise make a new key object of the certificate per message,
        // which costs OpenSSL more than the signature.
        var key = _signingKeys.Rent(certificate) ?? throw new CryptographicException($"the private key of {entry.Subject} is of no type S/MIME signs with");
        byte[] encoded;
        var intermediates = Intermediates(entry, now);
        try
        {
            var signer = new CmsSigner(SubjectIdentifierType.IssuerAndSerialNumber, certificate, key)
            {
                DigestAlgorithm = new Oid(Sha256Oid),
                IncludeOption = X509IncludeOption.EndCertOnly,
            };
            signer.Certificates.AddRange(intermediates);
            signer.SignedAttributes.Add(new Pkcs9SigningTime(now.UtcDateTime));
            signer.SignedAttributes.Add(new AsnEncodedData(SmimeCapabilitiesOid, Capabilities()));

            var cms = new SignedCms(new ContentInfo(canonical), detached: true);
            cms.ComputeSignature(signer, silent: true);
            encoded = cms.Encode();
        }
        finally
        {
            _signingKeys.Return(certificate, key);
        }

        var signature = new MimeKit.Cryptography.ApplicationPkcs7Signature(new MemoryStream(encoded, writable: false));

        var signed = new Multipart("signed") { entity, signature };
        signed.ContentType.Parameters["protocol"] = Protocol;
        signed.ContentType.Parameters["micalg"] = Micalg;
        notes.Add($"Signed for {sender} with the certificate {entry.Subject} ({entry.Fingerprint[..16]}), issued by {entry.Issuer}" +
            (intermediates.Length > 0 ? $"; {intermediates.Length} intermediate certificate(s) included" : string.Empty));
        return signed;
    }

    private MimeKit.Cryptography.ApplicationPkcs7Mime Encrypt(Plan plan, byte[] canonical)
    {
        var encoded = _envelopes.Encrypt(canonical, [.. plan.EncryptTo.Select(e => e.Certificate)], plan.CipherOid);
        return new MimeKit.Cryptography.ApplicationPkcs7Mime(MimeKit.Cryptography.SecureMimeType.EnvelopedData, new MemoryStream(encoded, writable: false));
    }

    /// <summary>The newest valid certificate of <paramref name="address"/> that S/MIME encryption can use (RSA key transport).</summary>
    private SmimeCertificateEntry? EncryptionCertificate(string address, out string? refusal)
    {
        var now = store.Time.GetUtcNow();
        var usable = store.FindSmime(address).Where(c => !c.IsCertificateAuthority && c.UsagesAt(now).HasFlag(KeyUsages.Encrypt)).ToList();
        var rsa = usable.FirstOrDefault(c => c.IsRsa);
        refusal = rsa is not null ? null
            : usable.Count > 0 ? OutgoingRefusals.NotAnRsaCertificate(address, usable[0].Subject)
            : OutgoingRefusals.NoEncryptionCertificate(address);
        return rsa;
    }

    /// <summary>
    /// The CA certificates between the signer and its root, taken from the store (never the root itself): a
    /// recipient who trusts only the root can still build the chain. Built once per signer, store version and day.
    /// </summary>
    private X509Certificate2[] Intermediates(SmimeCertificateEntry entry, DateTimeOffset now)
    {
        var version = store.Version;
        var day = now.UtcDateTime.Date;
        if (_chains.TryGetValue(entry.Fingerprint, out var cached) && ReferenceEquals(cached.Version, version) && cached.Day == day)
        {
            return cached.Intermediates;
        }

        var found = BuildIntermediates(entry.Certificate, now);
        if (_chains.Count >= MaxCachedChains)
        {
            _chains.Clear();
        }

        _chains[entry.Fingerprint] = (version, day, found);
        return found;
    }

    private X509Certificate2[] BuildIntermediates(X509Certificate2 certificate, DateTimeOffset now)
    {
        var authorities = store.Certificates.Where(c => c.IsCertificateAuthority).ToList();
        using var chain = StoreChain.Create(now);
        foreach (var authority in authorities)
        {
            chain.ChainPolicy.ExtraStore.Add(authority.Certificate);
            if (IsSelfIssued(authority.Certificate))
            {
                chain.ChainPolicy.CustomTrustStore.Add(authority.Certificate);
            }
        }

        chain.Build(certificate);
        var found = new List<X509Certificate2>();
        for (var i = 1; i < chain.ChainElements.Count; i++)
        {
            var element = chain.ChainElements[i].Certificate;
            var known = authorities.FirstOrDefault(a => a.Certificate.RawData.AsSpan().SequenceEqual(element.RawData));
            if (known is not null && !IsSelfIssued(known.Certificate))
            {
                found.Add(known.Certificate);
            }
        }

        return [.. found];
    }

    /// <summary>SMIMECapabilities (RFC 8551 section 2.5.2): the ciphers this side reads, so replies use them.</summary>
    private static byte[] Capabilities()
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (var oid in Ciphers)
            {
                using (writer.PushSequence())
                {
                    writer.WriteObjectIdentifier(oid);
                }
            }
        }

        return writer.Encode();
    }


    private static bool IsSelfIssued(X509Certificate2 certificate) =>
        certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData);

    private static void AddOnce(List<SmimeCertificateEntry> list, SmimeCertificateEntry entry)
    {
        if (!list.Any(e => e.Fingerprint == entry.Fingerprint))
        {
            list.Add(entry);
        }
    }

    /// <summary>The certificates a request needs, found before anything is signed or encrypted.</summary>
    /// <param name="SignerKey">The signer's certificate with its private key (the store's cached instance: never disposed here).</param>
    public sealed record Plan(SmimeCertificateEntry? Signer, X509Certificate2? SignerKey, IReadOnlyList<SmimeCertificateEntry> EncryptTo, string CipherOid);
}
