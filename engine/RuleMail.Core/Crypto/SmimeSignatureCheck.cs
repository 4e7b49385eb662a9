using System.Collections.Concurrent;
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

        return Judge(cms, senders);
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
        return Judge(cms, senders);
    }

    private SecurityOutcome Judge(SignedCms cms, IReadOnlyCollection<string> senders)
    {
        if (cms.SignerInfos.Count == 0)
        {
            return SecurityOutcome.Failed(SecurityComments.NoSigner);
        }

        SecurityOutcome? firstFailure = null;
        foreach (var signer in cms.SignerInfos.Cast<SignerInfo>().Take(policy.MaxSignatures))
        {
            var outcome = JudgeSigner(cms, signer, senders);
            if (outcome.Success)
            {
                return outcome;
            }

            firstFailure ??= outcome;
        }

        return firstFailure!;
    }

    private SecurityOutcome JudgeSigner(SignedCms cms, SignerInfo signer, IReadOnlyCollection<string> senders)
    {
        var certificate = signer.Certificate ?? FindInStore(signer.SignerIdentifier);
        if (certificate is null)
        {
            return SecurityOutcome.Failed(SecurityComments.CertificateNotFound);
        }

        try
        {
            signer.CheckSignature(new X509Certificate2Collection(certificate), verifySignatureOnly: true);
        }
        catch (CryptographicException)
        {
            return SecurityOutcome.Failed(SecurityComments.Tampered);
        }

        var now = store.Time.GetUtcNow();
        var parsed = SmimeCertificateEntry.Create(certificate, hasPrivateKey: false, revokedAt: null);
        var entry = parsed.With(hasPrivateKey: false, revokedAt: store.RevocationOf(parsed));
        var chainProblem = CheckChain(certificate, cms, now);
        if (chainProblem is not null)
        {
            return chainProblem;
        }

        switch (entry.StatusAt(now))
        {
            case KeyStatus.Revoked:
                return SecurityOutcome.Failed(SecurityComments.CertificateRevoked(entry.RevokedAt!.Value));
            case KeyStatus.Expired:
                return SecurityOutcome.Failed(SecurityComments.CertificateExpired(entry.NotAfter!.Value));
            case KeyStatus.NotYetValid:
                return SecurityOutcome.Failed(SecurityComments.CertificateNotYetValid(entry.NotBefore));
        }

        if (!entry.Usages.HasFlag(KeyUsages.Sign))
        {
            return SecurityOutcome.Failed(SecurityComments.CertificateNotForSigning(entry.Subject));
        }

        var signerName = entry.Addresses.Count > 0 ? entry.Addresses[0] : entry.Subject;
        if (!senders.Any(entry.Addresses.Contains))
        {
            return SecurityOutcome.Failed(SecurityComments.NotSignedBySender(signerName, senders.FirstOrDefault()));
        }

        var sender = senders.First(entry.Addresses.Contains);
        return SecurityOutcome.Succeeded(SecurityComments.SignedBy(sender, $"certificate {entry.Subject}, issued by {entry.Issuer}"));
    }

    /// <summary>
    /// Judges the signer's chain. A signer certificate the admin imported is trusted for itself, as the seed's
    /// advice ("add the sender's certificate to the certificate store") promises; certificates that arrive in
    /// mail never are. Otherwise the chain must reach a trust anchor of the store: no path at all gives the
    /// seed's text; a path with a broken, expired or revoked link gives its own reason. The signer's own
    /// dates are judged by the caller.
    /// </summary>
    private SecurityOutcome? CheckChain(X509Certificate2 certificate, SignedCms message, DateTimeOffset now)
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
            var failure = BuildPath(certificate, message.Certificates, now, out var issuers);
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
                return SecurityOutcome.Failed(SecurityComments.ChainInvalid($"the CA certificate {issuer.Subject} was revoked"));
            }

            if (now < issuer.NotBefore || now > issuer.NotAfter)
            {
                return SecurityOutcome.Failed(SecurityComments.ChainInvalid($"the CA certificate {issuer.Subject} is not valid now"));
            }
        }

        return null;
    }

    /// <summary>Builds a path from the signer to a trust anchor (OpenSSL underneath); on success, the issuers above the signer.</summary>
    private SecurityOutcome? BuildPath(X509Certificate2 certificate, X509Certificate2Collection fromMessage, DateTimeOffset now, out SmimeCertificateEntry[] issuers)
    {
        issuers = [];
        var anchors = store.TrustAnchors;
        if (anchors.Count == 0)
        {
            return SecurityOutcome.Failed(SecurityComments.CertificateNotFound);
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
            return SecurityOutcome.Failed(SecurityComments.CertificateNotFound);
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
            return SecurityOutcome.Failed(SecurityComments.ChainInvalid(string.Join("; ", problems)));
        }

        issuers = [.. elements.Skip(1).Select(e => SmimeCertificateEntry.Create(e.Certificate, hasPrivateKey: false, revokedAt: null))];
        return null;
    }

    private X509Certificate2? FindInStore(SubjectIdentifier identifier) =>
        store.Certificates.Select(c => c.Certificate).FirstOrDefault(c => SmimeRecipients.Matches(identifier, c));
}
