using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Security;

namespace RuleMail.Keys;

/// <summary>
/// Plans one import against the store as it is now: checks every item, pairs private keys with their
/// certificates, merges OpenPGP keys, and only then lists the files to write. Nothing is written unless
/// the whole import is acceptable, so bad input leaves the store unchanged.
/// </summary>
internal sealed class KeyImport
{
    private readonly KeyStoreSnapshot _current;
    private readonly KeyStoreFolder _folder;
    private readonly KeyStoreOptions _options;
    private readonly byte[]? _filePassphrase;
    private readonly string? _domainAlias;
    private readonly List<(string Path, byte[] Content, bool Secret)> _writes = [];
    private readonly Dictionary<string, Outcome> _outcomes = new(StringComparer.Ordinal);
    private bool _passphraseChecked;

    public KeyImport(KeyStoreSnapshot current, KeyStoreFolder folder, KeyStoreOptions options, string? filePassphrase, string? domainAlias)
    {
        _current = current;
        _folder = folder;
        _options = options;
        _filePassphrase = filePassphrase is null ? null : Encoding.UTF8.GetBytes(filePassphrase);
        _domainAlias = domainAlias;
    }

    public IReadOnlyCollection<Outcome> Outcomes => _outcomes.Values;

    public void Plan(KeyMaterial material)
    {
        if (_domainAlias is not null && material.PgpPublicRings.Count == 0 && material.PgpSecretRings.Count == 0)
        {
            throw new KeyStoreException("--domain-alias applies to OpenPGP keys, and there is none in the files given");
        }

        var certificates = PlanCertificates(material);
        PlanPrivateKeys(material, certificates);
        PlanCrls(material, certificates);
        PlanPgp(material);
    }

    public void Commit()
    {
        if (_writes.Count == 0)
        {
            return;
        }

        _folder.EnsureMarker();

        // Private material first: a crash in between leaves an orphan key file (ignored), never a
        // certificate whose key was lost.
        foreach (var (path, content, secret) in _writes.OrderByDescending(w => w.Secret))
        {
            KeyStoreFolder.WriteAtomically(path, content, secret);
        }
    }

    private Dictionary<string, SmimeCertificateEntry> PlanCertificates(KeyMaterial material)
    {
        var imported = new Dictionary<string, SmimeCertificateEntry>(StringComparer.Ordinal);
        foreach (var (source, certificate) in material.Certificates)
        {
            var entry = SmimeCertificateEntry.Create(certificate, hasPrivateKey: false, revokedAt: null);
            if (!entry.IsCertificateAuthority && entry.Addresses.Count == 0)
            {
                throw new KeyStoreException(
                    $"{source}: the certificate \"{entry.Subject}\" has no e-mail address (no subjectAltName rfc822Name and no emailAddress in its subject)");
            }

            if (!imported.TryAdd(entry.Fingerprint, entry))
            {
                continue;
            }

            if (FindCertificate(entry.Fingerprint) is null)
            {
                _writes.Add((_folder.SmimeCertificate(entry.Fingerprint), KeyExport.Pem("CERTIFICATE", certificate.RawData), false));
                Record(entry.Fingerprint, ImportChange.Added, source, entry.IsTrustAnchor ? "CA certificate: now a trust anchor" : null);
            }
            else
            {
                Record(entry.Fingerprint, ImportChange.Unchanged, source, null);
            }
        }

        return imported;
    }

    private void PlanPrivateKeys(KeyMaterial material, Dictionary<string, SmimeCertificateEntry> imported)
    {
        foreach (var (source, key) in material.PrivateKeys)
        {
            var publicKey = key.ExportSubjectPublicKeyInfo();
            var owners = imported.Values.Concat(_current.Certificates)
                .Where(c => c.Certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(publicKey))
                .DistinctBy(c => c.Fingerprint)
                .ToList();
            if (owners.Count == 0)
            {
                throw new KeyStoreException(
                    $"{source}: the private key belongs to no certificate in these files or in the key store; import it together with its certificate");
            }

            foreach (var owner in owners)
            {
                if (FindCertificate(owner.Fingerprint)?.HasPrivateKey == true ||
                    _writes.Any(w => w.Path == _folder.SmimeKey(owner.Fingerprint)))
                {
                    continue;
                }

                var passphrase = StorePassphrase(source);
                var pem = key.ExportEncryptedPkcs8PrivateKeyPem(
                    passphrase.Value,
                    new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, _options.Pkcs8Iterations));
                _writes.Add((_folder.SmimeKey(owner.Fingerprint), Encoding.ASCII.GetBytes(pem + "\n"), true));
                var added = _outcomes.TryGetValue(owner.Fingerprint, out var outcome) && outcome.Change == ImportChange.Added;
                Record(owner.Fingerprint, added ? ImportChange.Added : ImportChange.Updated, source, "with its private key (encrypted at rest)");
            }
        }
    }

    private void PlanCrls(KeyMaterial material, Dictionary<string, SmimeCertificateEntry> imported)
    {
        foreach (var (source, der) in material.Crls)
        {
            var crl = CrlEntry.Create(der);
            // The coarse name key first (a fact), so only certificates that may bear the issuer's name are parsed.
            var nameKey = NameKeys.Of(crl.Crl.IssuerDN);
            var issuers = imported.Values.Concat(_current.Certificates)
                .Where(c => c.Facts.SubjectKey == nameKey || c.Facts.SubjectKey == NameKeys.Any)
                .Where(c => c.Parsed.SubjectDN.Equivalent(crl.Crl.IssuerDN))
                .ToList();
            if (issuers.Count == 0)
            {
                throw new KeyStoreException(
                    $"{source}: the CRL's issuer \"{crl.Issuer}\" is not in the key store; import the CA certificate first or with it");
            }

            if (!issuers.Any(i => KeyStoreSnapshot.IsIssuerOf(i, crl)))
            {
                throw new KeyStoreException($"{source}: the CRL's signature does not verify against its issuer \"{crl.Issuer}\"");
            }

            if (_current.Crls.Any(c => c.Fingerprint == crl.Fingerprint) || _outcomes.ContainsKey(crl.Fingerprint))
            {
                Record(crl.Fingerprint, ImportChange.Unchanged, source, null);
                continue;
            }

            _writes.Add((_folder.Crl(crl.Fingerprint), KeyExport.Pem("X509 CRL", der), false));
            Record(crl.Fingerprint, ImportChange.Added, source, $"revokes {crl.RevokedCount} certificate(s)");
        }
    }

    private void PlanPgp(KeyMaterial material)
    {
        var rings = new Dictionary<string, PgpImport>(StringComparer.Ordinal);
        foreach (var (source, ring) in material.PgpPublicRings)
        {
            Merge(rings, source, ring, secret: null);
        }

        foreach (var (source, ring) in material.PgpSecretRings)
        {
            var protectedRing = Reprotect(source, ring);
            Merge(rings, source, PublicPart(ring), protectedRing);
        }

        foreach (var (source, signature) in material.PgpSignatures)
        {
            ApplyRevocation(rings, source, signature);
        }

        foreach (var (fingerprint, import) in rings)
        {
            var existing = _current.ByFingerprint(fingerprint) as PgpKeyEntry;
            var publicRing = existing is null ? import.Public : PgpPublicKeyRing.Join(existing.PublicRing, import.Public);
            var alias = _domainAlias ?? existing?.DomainAlias;
            var secretRing = MergeSecrets(existing?.SecretRing, import.Secret);
            var entry = PgpKeyEntry.Create(publicRing, secretRing, alias);
            if (entry.Addresses.Count == 0 && alias is null)
            {
                throw new KeyStoreException(
                    $"{import.Source}: the OpenPGP key {fingerprint} has no valid user ID with an e-mail address (use --domain-alias to let it serve a whole domain)");
            }

            var notes = new List<string>();
            var changed = existing is null;
            if (existing is null || !existing.PublicRing.GetEncoded().AsSpan().SequenceEqual(publicRing.GetEncoded()))
            {
                _writes.Add((_folder.PgpPublic(fingerprint), KeyExport.Armor(publicRing.Encode), false));
                changed = true;
                if (existing is not null && existing.RevokedAt is null && entry.RevokedAt is not null)
                {
                    notes.Add("now revoked");
                }
            }

            if (import.Secret is not null && secretRing is not null && !HoldsAllSecrets(existing?.SecretRing, import.Secret))
            {
                _writes.Add((_folder.PgpSecret(fingerprint), KeyExport.Armor(secretRing.Encode), true));
                changed = true;
                notes.Add("with its secret keys (protected at rest)");
            }

            if (!string.Equals(alias, existing?.DomainAlias, StringComparison.Ordinal))
            {
                var settings = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string?> { ["domain_alias"] = alias });
                _writes.Add((_folder.PgpSettings(fingerprint), settings, false));
                changed = true;
                notes.Add($"serves every address of {alias}");
            }

            var change = existing is null ? ImportChange.Added : changed ? ImportChange.Updated : ImportChange.Unchanged;
            Record(fingerprint, change, import.Source, notes.Count > 0 ? string.Join("; ", notes) : null);
        }
    }

    private static void Merge(Dictionary<string, PgpImport> rings, string source, PgpPublicKeyRing ring, PgpSecretKeyRing? secret)
    {
        var fingerprint = Convert.ToHexString(ring.GetPublicKey().GetFingerprint());
        if (rings.TryGetValue(fingerprint, out var known))
        {
            rings[fingerprint] = known with { Public = PgpPublicKeyRing.Join(known.Public, ring), Secret = secret ?? known.Secret };
        }
        else
        {
            rings[fingerprint] = new PgpImport(source, ring, secret);
        }
    }

    /// <summary>A bare key revocation signature (gpg --gen-revoke) applies to the key that made it.</summary>
    private void ApplyRevocation(Dictionary<string, PgpImport> rings, string source, PgpSignature signature)
    {
        if (signature.SignatureType != PgpSignature.KeyRevocation)
        {
            throw new KeyStoreException($"{source}: a lone OpenPGP signature (type 0x{signature.SignatureType:X2}) is not a key or a revocation certificate");
        }

        var target = rings.Values.Select(r => r.Public)
            .Concat(_current.PgpKeys.Where(k => k.KeyId == signature.KeyId.ToString("X16", System.Globalization.CultureInfo.InvariantCulture)).Select(k => k.PublicRing))
            .FirstOrDefault(r => r.GetPublicKey().KeyId == signature.KeyId)
            ?? throw new KeyStoreException($"{source}: the revocation certificate is for key {signature.KeyId:X16}, which is not in the key store");

        var primary = target.GetPublicKey();
        bool valid;
        try
        {
            signature.InitVerify(primary);
            valid = signature.VerifyCertification(primary);
        }
        catch (PgpException)
        {
            valid = false;
        }

        if (!valid)
        {
            throw new KeyStoreException($"{source}: the revocation certificate's signature does not verify against key {signature.KeyId:X16}");
        }

        if (primary.GetSignaturesOfType(PgpSignature.KeyRevocation).Any(s => PgpSignature.IsSignatureEncodingEqual(s, signature)))
        {
            Merge(rings, source, target, secret: null);
            return;
        }

        var revoked = PgpPublicKeyRing.InsertPublicKey(target, PgpPublicKey.AddCertification(primary, signature));
        Merge(rings, source, revoked, secret: null);
    }

    /// <summary>Takes the secret keys out of the file's protection and puts them under the store passphrase (AES-256).</summary>
    private PgpSecretKeyRing Reprotect(string source, PgpSecretKeyRing ring)
    {
        var storePassphrase = StorePassphrase(source).ToUtf8();
        var result = ring;
        var random = new SecureRandom();
        foreach (var key in ring.GetSecretKeys())
        {
            if (key.IsPrivateKeyEmpty)
            {
                continue;
            }

            var oldPassphrase = key.KeyEncryptionAlgorithm == SymmetricKeyAlgorithmTag.Null
                ? []
                : _filePassphrase ?? throw new KeyStoreException($"{source}: the OpenPGP secret key is protected: give its passphrase with --passphrase-env VAR");
            try
            {
                var copy = PgpSecretKey.CopyWithNewPasswordRaw(key, oldPassphrase, storePassphrase, SymmetricKeyAlgorithmTag.Aes256, random);
                _ = copy.ExtractPrivateKeyRaw(storePassphrase);
                result = PgpSecretKeyRing.InsertSecretKey(result, copy);
            }
            catch (PgpException e)
            {
                throw new KeyStoreException($"{source}: wrong passphrase for the OpenPGP secret key {key.KeyId:X16}", e);
            }
        }

        return result;
    }

    private static PgpPublicKeyRing PublicPart(PgpSecretKeyRing ring)
    {
        using var buffer = new MemoryStream();
        foreach (var key in ring.GetPublicKeys())
        {
            key.Encode(buffer);
        }

        return new PgpPublicKeyRing(buffer.ToArray());
    }

    /// <summary>
    /// The secret keys already held plus the imported ones. An import never takes a secret away: a stub in it
    /// (gpg --export-secret-subkeys leaves the primary key as one) does not replace a secret the store holds.
    /// </summary>
    private static PgpSecretKeyRing? MergeSecrets(PgpSecretKeyRing? held, PgpSecretKeyRing? imported)
    {
        if (held is null || imported is null)
        {
            return imported ?? held;
        }

        var merged = held;
        foreach (var key in imported.GetSecretKeys())
        {
            var current = merged.GetSecretKey(key.KeyId);
            if (current is null || (current.IsPrivateKeyEmpty && !key.IsPrivateKeyEmpty))
            {
                merged = PgpSecretKeyRing.InsertSecretKey(merged, key);
            }
        }

        return merged;
    }

    private static bool HoldsAllSecrets(PgpSecretKeyRing? existing, PgpSecretKeyRing incoming)
    {
        if (existing is null)
        {
            return false;
        }

        var held = existing.GetSecretKeys().Where(k => !k.IsPrivateKeyEmpty).Select(k => k.KeyId).ToHashSet();
        return incoming.GetSecretKeys().Where(k => !k.IsPrivateKeyEmpty).All(k => held.Contains(k.KeyId));
    }

    /// <summary>
    /// The store passphrase, checked once against the private keys already in the store. A refusal names
    /// <paramref name="source"/>, the file whose private key needed it.
    /// </summary>
    private KeyStorePassphrase StorePassphrase(string source)
    {
        var passphrase = _options.Passphrase ?? throw new KeyStoreException(
            $"{source}: importing private keys needs the key store passphrase: set {KeyStorePassphrase.EnvironmentVariable} (or keystore_passphrase_file in the config)");
        if (!_passphraseChecked)
        {
            try
            {
                PrivateKeyOpener.CheckPassphrase(_current, _folder, passphrase);
            }
            catch (KeyStoreException e)
            {
                throw new KeyStoreException($"{source}: {e.Message}", e);
            }

            _passphraseChecked = true;
        }

        return passphrase;
    }

    private SmimeCertificateEntry? FindCertificate(string fingerprint) =>
        _current.ByFingerprint(fingerprint) as SmimeCertificateEntry;

    private void Record(string fingerprint, ImportChange change, string source, string? note)
    {
        if (_outcomes.TryGetValue(fingerprint, out var known) && known.Change != ImportChange.Unchanged && change == ImportChange.Unchanged)
        {
            return;
        }

        _outcomes[fingerprint] = new Outcome(fingerprint, change, source, note ?? known?.Note);
    }

    /// <summary>What the import did to one fingerprint.</summary>
    public sealed record Outcome(string Fingerprint, ImportChange Change, string Source, string? Note);

    private sealed record PgpImport(string Source, PgpPublicKeyRing Public, PgpSecretKeyRing? Secret);
}
