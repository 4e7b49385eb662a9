using System.Collections.Concurrent;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using RuleMail.Keys;

namespace RuleMail.Crypto;

/// <summary>
/// Verifies CMS signed-data on System.Security.Cryptography (OpenSSL) and judges the signer: the
/// signature must match, the signer's chain must reach a trust anchor of the store (intermediates from
/// the message or the store), the certificate must be valid now, unrevoked, allowed for signing, and
/// name the sender.
/// </summary>
internal sealed class SmimeSignatureCheck(KeyStore store, SecurityPolicy policy)
{
    private const int MaxCachedPaths = 10_000;

    /// <summary>The smallest EC signer key accepted: P-192 and smaller curves give less than 100 bits of security.</summary>
    private const int MinEcBits = 224;

    /// <summary>
    /// The most certificates a signed message may carry. Real mail carries the signer's certificate and its
    /// intermediates, a handful; there is no setting because no legitimate sender needs more.
    /// </summary>
    private const int MaxEmbeddedCertificates = 100;

    /// <summary>Certificates decoded once and kept by fingerprint (<see cref="SmimeSignerCertificate"/>); cleared when full.</summary>
    private const int MaxCachedCertificates = 10_000;

    private const string MessageDigestOid = "1.2.840.113549.1.9.4";
    private const string ContentTypeOid = "1.2.840.113549.1.9.3";

    private readonly ConcurrentDictionary<string, (object Version, SmimeCertificateEntry[] Issuers)> _paths = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SmimeSignerCertificate> _certificates = new(StringComparer.Ordinal);

    /// <summary>Verifies a detached signature over <paramref name="content"/>.</summary>
    public SecurityOutcome VerifyDetached(byte[] content, byte[] signature, IReadOnlyCollection<string> senders)
    {
        if (CmsSignedData.TryRead(signature) is { Content: null } read && JudgeRead(read, hash => CryptographicOperations.HashData(hash, content), senders) is { } judged)
        {
            return judged;
        }

        return JudgeDetached(content, signature, senders);
    }

    /// <summary>
    /// Verifies a detached signature over content too large to copy into an array: <paramref name="digestOf"/> hashes it
    /// as a stream. Judged by the same code as <see cref="VerifyDetached(byte[], byte[], IReadOnlyCollection{string})"/>;
    /// only when that path cannot decide alone is the content materialised (<paramref name="content"/>) for SignedCms,
    /// so every outcome and reason is the same as for a small message.
    /// </summary>
    public SecurityOutcome VerifyDetached(Func<HashAlgorithmName, byte[]> digestOf, Func<byte[]> content, byte[] signature, IReadOnlyCollection<string> senders)
    {
        if (CmsSignedData.TryRead(signature) is { Content: null } read && JudgeRead(read, digestOf, senders) is { } judged)
        {
            return judged;
        }

        return JudgeDetached(content(), signature, senders);
    }

    private SecurityOutcome JudgeDetached(byte[] content, byte[] signature, IReadOnlyCollection<string> senders)
    {
        var cms = new SignedCms(new ContentInfo(content), detached: true);
        try
        {
            cms.Decode(signature);
        }
        catch (CryptographicException e)
        {
            return SecurityOutcome.Failed(SecurityComments.Malformed($"the S/MIME signature cannot be read ({e.Message.TrimEnd('.')})"));
        }

        return Judge(cms, signature, senders);
    }

    /// <summary>Verifies opaque signed-data; on success of decoding, <paramref name="content"/> is what was signed.</summary>
    public SecurityOutcome VerifyOpaque(byte[] signedData, IReadOnlyCollection<string> senders, out byte[]? content)
    {
        if (CmsSignedData.TryRead(signedData) is { Content: { } encapsulated } read
            && JudgeRead(read, hash => CryptographicOperations.HashData(hash, encapsulated), senders) is { } judged)
        {
            content = encapsulated;
            return judged;
        }

        var cms = new SignedCms();
        try
        {
            cms.Decode(signedData);
        }
        catch (CryptographicException e)
        {
            content = null;
            return SecurityOutcome.Failed(SecurityComments.Malformed($"the S/MIME signed data cannot be read ({e.Message.TrimEnd('.')})"));
        }

        content = cms.ContentInfo.Content;
        return Judge(cms, signedData, senders);
    }

    /// <summary>
    /// Verifies opaque signed-data too large to hold in memory (<see cref="LargeSignedData"/>: its content on a spool, its
    /// digests computed as it was copied there) by the same code as <see cref="VerifyOpaque"/>. Null when that code cannot
    /// decide alone: the caller then judges the whole signed-data with <see cref="VerifyOpaque"/>, so every outcome and
    /// reason is the same as for a small message.
    /// </summary>
    public SecurityOutcome? VerifyOpaqueLarge(LargeSignedData data, IReadOnlyCollection<string> senders) =>
        JudgeRead(data.Detached, data.DigestOf, senders);

    private SecurityOutcome Judge(SignedCms cms, byte[] encoded, IReadOnlyCollection<string> senders)
    {
        // Every certificate the message carries becomes an X509Certificate2 (an OpenSSL parse, about 0.25 ms each)
        // as soon as any signer's certificate is looked up: 45 MB of copies cost 15 s. They are counted in the
        // encoding first, which costs nothing, and a message carrying more than any real chain needs is refused.
        var carried = CountCertificates(encoded);
        if (carried > MaxEmbeddedCertificates)
        {
            return SecurityOutcome.Failed(SecurityComments.TooManyCertificates(carried, MaxEmbeddedCertificates));
        }

        // Each SignerInfo costs a hash of the whole content and a public-key operation, so a message with
        // thousands of them is refused as a whole before any is checked, rather than judged by the first few:
        // which few would be the attacker's choice.
        var signers = cms.SignerInfos;
        if (signers.Count == 0)
        {
            return SecurityOutcome.Failed(SecurityComments.NoSigner);
        }

        if (signers.Count > policy.MaxSignatures)
        {
            return SecurityOutcome.Failed(SecurityComments.TooManySignatures(signers.Count, policy.MaxSignatures));
        }

        var embedded = cms.Certificates;
        SecurityOutcome? firstFailure = null;
        foreach (var signer in signers)
        {
            var outcome = JudgeSigner(cms, signer, embedded, senders);
            if (outcome.Success)
            {
                return outcome;
            }

            firstFailure ??= outcome;
        }

        return firstFailure!;
    }

    /// <summary>
    /// Judges signed-data read by <see cref="CmsSignedData"/> with certificates and public keys decoded once per
    /// certificate, and the signature checked here, the CMS way (RFC 5652 section 5.4): with signed attributes, the
    /// message-digest attribute must be the digest of the content, a content-type attribute must name id-data, and the
    /// signature covers the attributes exactly as sent (their DER as a SET); without them it covers the content's digest.
    /// Null when this path cannot decide alone: an unusual limit, algorithm or certificate, or any signature that does not
    /// check out, which SignedCms then judges as before, so a failure always gets the same reason.
    /// </summary>
    private SecurityOutcome? JudgeRead(CmsSignedData data, Func<HashAlgorithmName, byte[]> digestOf, IReadOnlyCollection<string> senders)
    {
        if (data.Certificates.Count > MaxEmbeddedCertificates || data.Signers.Count == 0 || data.Signers.Count > policy.MaxSignatures)
        {
            return null;
        }

        var carried = new SmimeSignerCertificate[data.Certificates.Count];
        for (var i = 0; i < carried.Length; i++)
        {
            if (FromMessage(data.Certificates[i]) is not { } certificate)
            {
                return null;
            }

            carried[i] = certificate;
        }

        X509Certificate2Collection Embedded() => [.. carried.Select(c => c.Certificate)];
        SecurityOutcome? firstFailure = null;
        foreach (var signer in data.Signers)
        {
            var name = NameOf(signer);
            var certificate = name is null ? null : carried.FirstOrDefault(c => c.Matches(name)) ?? FindInStore(name);
            if (certificate is null)
            {
                return null;
            }

            var outcome = Judge(certificate, signer.Digest.Oid, signer.Signature.Oid, () => CheckSignature(signer, certificate, digestOf), Embedded, senders);
            if (outcome is null)
            {
                return null;
            }

            if (outcome.Success)
            {
                return outcome;
            }

            firstFailure ??= outcome;
        }

        return firstFailure;
    }

    /// <summary>True when the signature checks out with the certificate's cached key; null when this path cannot say so.</summary>
    private static bool? CheckSignature(CmsSignedData.Signer signer, SmimeSignerCertificate certificate, Func<HashAlgorithmName, byte[]> digestOf)
    {
        var digest = CmsAlgorithms.DigestName(signer.Digest.Oid);
        HashAlgorithmName? hashName = digest switch
        {
            "sha1" => HashAlgorithmName.SHA1,
            "sha256" => HashAlgorithmName.SHA256,
            "sha384" => HashAlgorithmName.SHA384,
            "sha512" => HashAlgorithmName.SHA512,
            _ => null,
        };
        if (hashName is not { } hash || !signer.Digest.HasNoParameters || !signer.Signature.HasNoParameters || !SignatureFits(signer.Signature.Oid, digest, certificate.KeyAlgorithm))
        {
            return null;
        }

        var contentDigest = digestOf(hash);
        byte[] signedDigest;
        if (signer.SignedAttributes is { } attributes)
        {
            if (!AttributesFit(attributes, contentDigest))
            {
                return null;
            }

            // The attributes are signed as a SET OF: the [0] IMPLICIT tag of the SignerInfo becomes the SET tag.
            var signed = attributes.ToArray();
            signed[0] = 0x31;
            signedDigest = CryptographicOperations.HashData(hash, signed);
        }
        else
        {
            signedDigest = contentDigest;
        }

        return certificate.VerifyHash(signedDigest, signer.Value, hash) == true ? true : null;
    }

    /// <summary>RSA PKCS#1 v1.5 (rsaEncryption or the digest's sha*WithRSAEncryption) for an RSA key, the digest's ecdsa-with-SHA* for an EC key.</summary>
    private static bool SignatureFits(string signatureOid, string digest, string? keyAlgorithm) => keyAlgorithm switch
    {
        KeyAlgorithmOids.Rsa => signatureOid == KeyAlgorithmOids.Rsa || (signatureOid.StartsWith("1.2.840.113549.1.1.", StringComparison.Ordinal) && CmsAlgorithms.SignatureDigest(signatureOid) == digest),
        KeyAlgorithmOids.Ec => signatureOid.StartsWith("1.2.840.10045.4.", StringComparison.Ordinal) && CmsAlgorithms.SignatureDigest(signatureOid) == digest,
        _ => false,
    };

    /// <summary>
    /// Whether the signed attributes are DER (in any order, as SignedCms also accepts), hold exactly one message-digest
    /// attribute whose one value is <paramref name="contentDigest"/>, and at most one content-type attribute naming id-data.
    /// </summary>
    private static bool AttributesFit(ReadOnlyMemory<byte> attributes, byte[] contentDigest)
    {
        try
        {
            var outer = new AsnReader(attributes, AsnEncodingRules.DER);
            var set = outer.ReadSetOf(skipSortOrderValidation: true, expectedTag: new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true));
            outer.ThrowIfNotEmpty();
            var digests = 0;
            var contentTypes = 0;
            while (set.HasData)
            {
                var attribute = set.ReadSequence();
                var type = attribute.ReadObjectIdentifier();
                var values = attribute.ReadSetOf(skipSortOrderValidation: true);
                attribute.ThrowIfNotEmpty();
                if (type == MessageDigestOid)
                {
                    digests++;
                    if (!values.ReadOctetString().AsSpan().SequenceEqual(contentDigest) || values.HasData)
                    {
                        return false;
                    }
                }
                else if (type == ContentTypeOid)
                {
                    contentTypes++;
                    if (values.ReadObjectIdentifier() != CmsSignedData.DataOid || values.HasData)
                    {
                        return false;
                    }
                }
            }

            return digests == 1 && contentTypes <= 1;
        }
        catch (AsnContentException)
        {
            return false;
        }
    }

    /// <summary>The signer identifier as certificates are matched against it; null when it cannot be read.</summary>
    private static SmimeSignerCertificate.SignerName? NameOf(CmsSignedData.Signer signer)
    {
        if (signer.KeyIdentifier is { } keyIdentifier)
        {
            return new SmimeSignerCertificate.SignerName(null, null, Convert.ToHexString(keyIdentifier));
        }

        try
        {
            return new SmimeSignerCertificate.SignerName(new X500DistinguishedName(signer.Issuer!.Value.Span).Name, Convert.ToHexString(signer.Serial!.Value.Span), null);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>Judges one SignerInfo as SignedCms decoded it: every message the read path leaves, and every signature it does not confirm.</summary>
    private SecurityOutcome JudgeSigner(SignedCms cms, SignerInfo signer, X509Certificate2Collection embedded, IReadOnlyCollection<string> senders)
    {
        var found = signer.Certificate is { } carried ? FromCertificate(carried) : FindInStore(signer.SignerIdentifier);
        if (found is null)
        {
            return SecurityOutcome.Failed(SecurityComments.CertificateNotFound) with { Digest = CmsAlgorithms.DigestName(signer.DigestAlgorithm.Value) };
        }

        bool? Check()
        {
            try
            {
                signer.CheckSignature(new X509Certificate2Collection(found.Certificate), verifySignatureOnly: true);
            }
            catch (CryptographicException)
            {
                return false;
            }

            return ContentTypeFits(signer, cms.ContentInfo.ContentType.Value);
        }

        return Judge(found, signer.DigestAlgorithm.Value, signer.SignatureAlgorithm.Value, Check, () => embedded, senders)!;
    }

    /// <summary>A content-type attribute, when signed, must name the content's type (RFC 5652 section 11.1); SignedCms does not check it.</summary>
    private static bool ContentTypeFits(SignerInfo signer, string? contentType)
    {
        foreach (var attribute in signer.SignedAttributes)
        {
            if (attribute.Oid.Value != ContentTypeOid)
            {
                continue;
            }

            if (attribute.Values.Count != 1 || attribute.Values[0] is not Pkcs9ContentType type || type.ContentType.Value != contentType)
            {
                return false;
            }
        }

        return signer.SignedAttributes.Cast<CryptographicAttributeObject>().Count(a => a.Oid.Value == ContentTypeOid) <= 1;
    }

    /// <summary>
    /// Judges one signer whose certificate is found. The algorithm policy is judged before the cryptographic check: it needs
    /// only the names in the SignerInfo and the certificate's key, and a refused signature is not worth a hash of the
    /// content. Finding the certificate comes first so the seed's text stays the answer for an unknown signer.
    /// <paramref name="checkSignature"/> says whether the signature holds; null from it makes this null (the caller decides
    /// another way).
    /// </summary>
    private SecurityOutcome? Judge(
        SmimeSignerCertificate certificate,
        string? digestOid,
        string? signatureOid,
        Func<bool?> checkSignature,
        Func<X509Certificate2Collection> embedded,
        IReadOnlyCollection<string> senders)
    {
        var digest = CmsAlgorithms.DigestName(digestOid);
        var entry = certificate.Entry.With(hasPrivateKey: false, revokedAt: store.RevocationOf(certificate.Entry));
        var key = certificate.Key;
        var sender = senders.FirstOrDefault(entry.Addresses.Contains);
        var facts = new SecurityOutcome(false, string.Empty)
        {
            Signer = new SignerFacts(sender ?? (entry.Addresses.Count > 0 ? entry.Addresses[0] : null), entry.Fingerprint),
            Digest = digest,
            Key = key,
        };
        SecurityOutcome Failed(string comment) => facts with { Comment = comment };

        var signatureDigest = CmsAlgorithms.SignatureDigest(signatureOid);
        if (AlgorithmRefusal(digest, signatureDigest, key) is { } refusal)
        {
            return Failed(refusal);
        }

        // Said before the check, which would only report a mismatch: an algorithm RuleMail cannot judge is not tampering.
        if (!CmsAlgorithms.IsKnownDigest(digest))
        {
            return Failed(SecurityComments.Unsupported($"a signature with the digest algorithm {digest}"));
        }

        if (key is null)
        {
            return Failed(SecurityComments.Unsupported($"a signer key of type {certificate.KeyAlgorithm}"));
        }

        switch (checkSignature())
        {
            case null:
                return null;
            case false:
                return Failed(SecurityComments.Tampered);
        }

        var now = store.Time.GetUtcNow();
        var chainProblem = CheckChain(certificate, embedded, now);
        if (chainProblem is not null)
        {
            return Failed(chainProblem);
        }

        switch (entry.StatusAt(now))
        {
            case KeyStatus.Revoked:
                return Failed(SecurityComments.CertificateRevoked(entry.RevokedAt!.Value));
            case KeyStatus.Expired:
                return Failed(SecurityComments.CertificateExpired(entry.NotAfter!.Value));
            case KeyStatus.NotYetValid:
                return Failed(SecurityComments.CertificateNotYetValid(entry.NotBefore));
        }

        if (!entry.Usages.HasFlag(KeyUsages.Sign))
        {
            return Failed(SecurityComments.CertificateNotForSigning(entry.Subject));
        }

        if (sender is null)
        {
            var signerName = entry.Addresses.Count > 0 ? entry.Addresses[0] : entry.Subject;
            return Failed(SecurityComments.NotSignedBySender(signerName, senders.FirstOrDefault()));
        }

        var detail = $"certificate {entry.Subject}, issued by {entry.Issuer}";
        if (digest == "sha1" || signatureDigest == "sha1")
        {
            detail += ", SHA-1 digest (accepted by security.accept_sha1_signatures)";
        }

        return facts with { Success = true, Comment = SecurityComments.SignedBy(sender, detail) };
    }

    /// <summary>
    /// The algorithm policy: MD2/MD4/MD5 always refused, SHA-1 unless the policy accepts it, RSA and DSA keys
    /// below the policy's minimum (never below <see cref="SecurityPolicy.SmallestMinRsaBits"/>), EC keys below
    /// <see cref="MinEcBits"/>. Null when the signature may be checked.
    /// </summary>
    private string? AlgorithmRefusal(string digest, string? signatureDigest, KeyFacts? key)
    {
        if (CmsAlgorithms.IsBroken(digest))
        {
            return SecurityComments.BrokenDigest(digest);
        }

        if (CmsAlgorithms.IsBroken(signatureDigest))
        {
            return SecurityComments.BrokenDigest(signatureDigest!);
        }

        if ((digest == "sha1" || signatureDigest == "sha1") && !policy.AcceptSha1Signatures)
        {
            return SecurityComments.Sha1Refused;
        }

        var minRsaBits = policy.MinRsaBits;
        return key switch
        {
            { Algorithm: "rsa" or "dsa" } when key.Bits < minRsaBits => SecurityComments.SignerKeyTooSmall(key.Algorithm, key.Bits, minRsaBits),
            { Algorithm: "ecdsa" } when key.Bits < MinEcBits => SecurityComments.SignerCurveTooSmall(key.Bits, MinEcBits),
            _ => null,
        };
    }

    /// <summary>
    /// Judges the signer's chain; null when it holds, else the failure comment. A signer certificate the admin
    /// imported is trusted for itself, as the seed's advice ("add the sender's certificate to the certificate
    /// store") promises; certificates that arrive in mail never are. Otherwise the chain must reach a trust
    /// anchor of the store: no path at all gives the seed's text; a path with a broken, expired or revoked link
    /// gives its own reason. The signer's own dates are judged by the caller.
    /// </summary>
    private string? CheckChain(SmimeSignerCertificate signer, Func<X509Certificate2Collection> fromMessage, DateTimeOffset now)
    {
        // The fingerprint is the SHA-256 of the certificate's encoding: equal fingerprints, the same certificate.
        var key = signer.Entry.Fingerprint;
        if (store.Certificates.Any(c => c.Fingerprint == key))
        {
            return null;
        }

        // Paths found are cached per signer until the store changes: building one costs more than the
        // signature check itself. Dates and revocations are judged on every call, failures never cached.
        var version = store.Version;
        if (!_paths.TryGetValue(key, out var cached) || !ReferenceEquals(cached.Version, version))
        {
            var failure = BuildPath(signer.Certificate, fromMessage(), now, out var issuers);
            if (failure is not null)
            {
                return failure;
            }

            if (_paths.Count >= MaxCachedPaths)
            {
                _paths.Clear();
            }

            cached = (version, issuers);
            _paths[key] = cached;
        }

        foreach (var issuer in cached.Issuers)
        {
            if (store.RevocationOf(issuer) is { } revoked && revoked <= now)
            {
                return SecurityComments.ChainInvalid($"the CA certificate {issuer.Subject} was revoked");
            }

            if (now < issuer.NotBefore || now > issuer.NotAfter)
            {
                return SecurityComments.ChainInvalid($"the CA certificate {issuer.Subject} is not valid now");
            }
        }

        return null;
    }

    /// <summary>Builds a path from the signer to a trust anchor (OpenSSL underneath); on success, the issuers above the signer.</summary>
    private string? BuildPath(X509Certificate2 certificate, X509Certificate2Collection fromMessage, DateTimeOffset now, out SmimeCertificateEntry[] issuers)
    {
        issuers = [];
        var anchors = store.TrustAnchors;
        if (anchors.Count == 0)
        {
            return SecurityComments.CertificateNotFound;
        }

        using var chain = StoreChain.Create(now);
        foreach (var anchor in anchors)
        {
            chain.ChainPolicy.CustomTrustStore.Add(anchor.Certificate);
        }

        chain.ChainPolicy.ExtraStore.AddRange(fromMessage);
        foreach (var known in store.Certificates)
        {
            chain.ChainPolicy.ExtraStore.Add(known.Certificate);
        }

        chain.Build(certificate);
        var elements = chain.ChainElements;
        var root = elements.Count > 0 ? elements[^1].Certificate : null;
        var reachesAnchor = root is not null && anchors.Any(a => a.Certificate.RawData.AsSpan().SequenceEqual(root.RawData));
        var noPath = chain.ChainStatus.Any(s => s.Status is X509ChainStatusFlags.PartialChain or X509ChainStatusFlags.UntrustedRoot);
        if (!reachesAnchor || noPath)
        {
            return SecurityComments.CertificateNotFound;
        }

        // A certificate signed with MD2/MD4/MD5 can be forged by a chosen-prefix collision, so the link it
        // makes proves nothing; OpenSSL accepts it unless a security level is set, which .NET does not. The
        // anchor's self-signature is not a link (it is trusted because the admin imported it), so it is not
        // judged. SHA-1 certificate signatures are left alone on purpose: many CA hierarchies still in use were
        // issued with them, and a SHA-1 collision costs far more than an MD5 one; the message's own SHA-1
        // signature is what the policy refuses.
        for (var i = 0; i < elements.Count - 1; i++)
        {
            var link = elements[i].Certificate;
            if (CmsAlgorithms.SignatureDigest(link.SignatureAlgorithm.Value) is { } digest && CmsAlgorithms.IsBroken(digest))
            {
                return SecurityComments.ChainInvalid($"the certificate {link.Subject} is signed with {digest.ToUpperInvariant()}, a broken digest algorithm");
            }
        }

        // Dates are judged by the caller at each use, so they are not problems of the path.
        var ignorable = X509ChainStatusFlags.NoError | X509ChainStatusFlags.NotTimeValid | X509ChainStatusFlags.NotTimeNested
            | X509ChainStatusFlags.RevocationStatusUnknown | X509ChainStatusFlags.OfflineRevocation;
        var problems = elements[0].ChainElementStatus.Concat(chain.ChainStatus)
            .Where(s => (s.Status & ~ignorable) != 0)
            .Select(s => s.StatusInformation.Trim().TrimEnd('.'))
            .Distinct()
            .ToList();
        if (problems.Count > 0)
        {
            return SecurityComments.ChainInvalid(string.Join("; ", problems));
        }

        issuers = [.. elements.Skip(1).Select(e => SmimeCertificateEntry.Create(e.Certificate, hasPrivateKey: false, revokedAt: null))];
        return null;
    }

    /// <summary>How many certificates the signed-data's certificate set holds, read without decoding any; 0 when there is none.</summary>
    private static int CountCertificates(byte[] contentInfo)
    {
        try
        {
            var outer = new AsnReader(contentInfo, AsnEncodingRules.BER).ReadSequence();
            outer.ReadObjectIdentifier();
            var signedData = outer.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)).ReadSequence();
            signedData.ReadEncodedValue();
            signedData.ReadEncodedValue();
            signedData.ReadEncodedValue();
            var certificatesTag = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
            if (!signedData.HasData || !signedData.PeekTag().HasSameClassAndValue(certificatesTag))
            {
                return 0;
            }

            var certificates = signedData.ReadSetOf(skipSortOrderValidation: true, expectedTag: certificatesTag);
            var count = 0;
            while (certificates.HasData)
            {
                certificates.ReadEncodedValue();
                count++;
            }

            return count;
        }
        catch (AsnContentException)
        {
            // SignedCms read it, so this reader's stricter view is no reason to refuse; the count is then unknown.
            return 0;
        }
    }

    private SmimeSignerCertificate? FindInStore(SubjectIdentifier identifier) =>
        store.Certificates.FirstOrDefault(c => SmimeRecipients.Matches(identifier, c.Certificate)) is { } entry ? FromStore(entry) : null;

    /// <summary>The store's first certificate <paramref name="name"/> names, as <see cref="FindInStore(SubjectIdentifier)"/> finds it.</summary>
    private SmimeSignerCertificate? FindInStore(SmimeSignerCertificate.SignerName name)
    {
        foreach (var entry in store.Certificates)
        {
            var certificate = FromStore(entry);
            if (certificate.Matches(name))
            {
                return certificate;
            }
        }

        return null;
    }

    /// <summary>A certificate of the store, decoded once (the store's own parse is reused).</summary>
    private SmimeSignerCertificate FromStore(SmimeCertificateEntry entry) =>
        Cached(entry.Fingerprint, () => SmimeSignerCertificate.Create(entry.Certificate, entry.With(hasPrivateKey: false, revokedAt: null)));

    /// <summary>A certificate SignedCms decoded from a message.</summary>
    private SmimeSignerCertificate FromCertificate(X509Certificate2 certificate) =>
        Cached(certificate.GetCertHashString(HashAlgorithmName.SHA256), () => SmimeSignerCertificate.Create(certificate, SmimeCertificateEntry.Create(certificate, hasPrivateKey: false, revokedAt: null)));

    /// <summary>A certificate a message carries, by its encoding: decoded the first time it is seen; null when it cannot be.</summary>
    private SmimeSignerCertificate? FromMessage(ReadOnlyMemory<byte> encoded)
    {
        var fingerprint = Convert.ToHexString(SHA256.HashData(encoded.Span));
        if (_certificates.TryGetValue(fingerprint, out var known))
        {
            return known;
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadCertificate(encoded.Span);
        }
        catch (CryptographicException)
        {
            return null;
        }

        var entry = SmimeCertificateEntry.Create(certificate, hasPrivateKey: false, revokedAt: null);

        // Only a certificate whose encoding is exactly what was sent is known by that encoding's hash.
        return entry.Fingerprint == fingerprint ? Cached(fingerprint, () => SmimeSignerCertificate.Create(certificate, entry)) : null;
    }

    private SmimeSignerCertificate Cached(string fingerprint, Func<SmimeSignerCertificate> create)
    {
        if (_certificates.TryGetValue(fingerprint, out var known))
        {
            return known;
        }

        if (_certificates.Count >= MaxCachedCertificates)
        {
            _certificates.Clear();
        }

        return _certificates.GetOrAdd(fingerprint, _ => create());
    }
}
