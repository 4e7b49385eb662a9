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
    private readonly ConcurrentDictionary<string, (object Version, SmimeCertificateEntry[] Issuers)> _paths = new(StringComparer.Ordinal);

    /// <summary>Verifies a detached signature over <paramref name="content"/>.</summary>
    public SecurityOutcome VerifyDetached(byte[] content, byte[] signature, IReadOnlyCollection<string> senders)
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
            var outcome = JudgeSigner(signer, embedded, senders);
            if (outcome.Success)
            {
                return outcome;
            }

            firstFailure ??= outcome;
        }

        return firstFailure!;
    }

    /// <summary>
    /// Judges one SignerInfo. The algorithm policy is judged before the cryptographic check: it needs only the
    /// names in the SignerInfo and the certificate's key, and a refused signature is not worth a hash of the
    /// content. Finding the certificate comes first so the seed's text stays the answer for an unknown signer.
    /// </summary>
    private SecurityOutcome JudgeSigner(SignerInfo signer, X509Certificate2Collection embedded, IReadOnlyCollection<string> senders)
    {
        var digest = CmsAlgorithms.DigestName(signer.DigestAlgorithm.Value);
        var certificate = signer.Certificate ?? FindInStore(signer.SignerIdentifier);
        if (certificate is null)
        {
            return SecurityOutcome.Failed(SecurityComments.CertificateNotFound) with { Digest = digest };
        }

        var parsed = SmimeCertificateEntry.Create(certificate, hasPrivateKey: false, revokedAt: null);
        var entry = parsed.With(hasPrivateKey: false, revokedAt: store.RevocationOf(parsed));
        var key = CmsAlgorithms.KeyOf(certificate);
        var sender = senders.FirstOrDefault(entry.Addresses.Contains);
        var facts = new SecurityOutcome(false, string.Empty)
        {
            Signer = new SignerFacts(sender ?? (entry.Addresses.Count > 0 ? entry.Addresses[0] : null), entry.Fingerprint),
            Digest = digest,
            Key = key,
        };
        SecurityOutcome Failed(string comment) => facts with { Comment = comment };

        var signatureDigest = CmsAlgorithms.SignatureDigest(signer.SignatureAlgorithm.Value);
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
            return Failed(SecurityComments.Unsupported($"a signer key of type {certificate.PublicKey.Oid.Value}"));
        }

        try
        {
            signer.CheckSignature(new X509Certificate2Collection(certificate), verifySignatureOnly: true);
        }
        catch (CryptographicException)
        {
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
    private string? CheckChain(X509Certificate2 certificate, X509Certificate2Collection fromMessage, DateTimeOffset now)
    {
        if (store.Certificates.Any(c => c.Certificate.RawData.AsSpan().SequenceEqual(certificate.RawData)))
        {
            return null;
        }

        // Paths found are cached per signer until the store changes: building one costs more than the
        // signature check itself. Dates and revocations are judged on every call, failures never cached.
        var key = certificate.GetCertHashString(HashAlgorithmName.SHA256);
        var version = store.Version;
        if (!_paths.TryGetValue(key, out var cached) || !ReferenceEquals(cached.Version, version))
        {
            var failure = BuildPath(certificate, fromMessage, now, out var issuers);
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

    private X509Certificate2? FindInStore(SubjectIdentifier identifier) =>
        store.Certificates.Select(c => c.Certificate).FirstOrDefault(c => SmimeRecipients.Matches(identifier, c));
}
