using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace RuleMail.Keys;

/// <summary>
/// Everything in a key store folder at one moment, indexed by address, fingerprint and OpenPGP key ID. Immutable, so
/// readers on any thread can share it while a writer builds the next one. Entries carry the facts lookups and listings
/// need; their certificates and key rings are parsed on first use (<see cref="KeyStoreCache"/> keeps the facts).
/// </summary>
internal sealed class KeyStoreSnapshot
{
    private readonly Dictionary<string, List<SmimeCertificateEntry>> _smimeByAddress = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<PgpKeyEntry>> _pgpByAddress = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<PgpKeyEntry>> _pgpByDomainAlias = new(StringComparer.Ordinal);
    private readonly Dictionary<string, KeyEntry> _byFingerprint = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PgpKeyEntry> _pgpByKeyId = new(StringComparer.Ordinal);

    private KeyStoreSnapshot(List<SmimeCertificateEntry> certificates, List<PgpKeyEntry> pgpKeys, List<CrlEntry> crls, string contentId)
    {
        Certificates = certificates;
        PgpKeys = pgpKeys;
        Crls = crls;
        ContentId = contentId;
        Entries = [.. certificates.Cast<KeyEntry>().Concat(pgpKeys).Concat(crls)
            .OrderBy(e => e.Addresses.Count > 0 ? e.Addresses[0] : "~" + e.DisplayName, StringComparer.Ordinal)
            .ThenBy(e => e.Kind)
            .ThenBy(e => e.Fingerprint, StringComparer.Ordinal)];
        TrustAnchors = [.. certificates.Where(c => c.IsTrustAnchor)];
        CertificateAuthorities = [.. certificates.Where(c => c.IsCertificateAuthority)];
        PrivateCertificates = [.. certificates.Where(c => c.HasPrivateKey)];
        PrivatePgpKeys = [.. pgpKeys.Where(k => k.HasPrivateKey)];

        foreach (var entry in Entries)
        {
            _byFingerprint.TryAdd(entry.Fingerprint, entry);
        }

        foreach (var certificate in certificates)
        {
            foreach (var address in certificate.Addresses)
            {
                Index(_smimeByAddress, address, certificate);
            }
        }

        foreach (var key in pgpKeys)
        {
            foreach (var address in key.Addresses)
            {
                Index(_pgpByAddress, address, key);
            }

            if (key.DomainAlias is not null)
            {
                Index(_pgpByDomainAlias, key.DomainAlias, key);
            }

            // The first key in file order wins, as a scan of PgpKeys in that order found it.
            foreach (var subkey in key.Keys)
            {
                _pgpByKeyId.TryAdd(subkey.KeyId, key);
            }
        }
    }

    public IReadOnlyList<KeyEntry> Entries { get; }

    public IReadOnlyList<SmimeCertificateEntry> Certificates { get; }

    public IReadOnlyList<PgpKeyEntry> PgpKeys { get; }

    public IReadOnlyList<CrlEntry> Crls { get; }

    public IReadOnlyList<SmimeCertificateEntry> TrustAnchors { get; }

    public IReadOnlyList<SmimeCertificateEntry> CertificateAuthorities { get; }

    public IReadOnlyList<SmimeCertificateEntry> PrivateCertificates { get; }

    public IReadOnlyList<PgpKeyEntry> PrivatePgpKeys { get; }

    /// <summary>SHA-256 over every file name and content hash read: equal for two loads of the same files.</summary>
    public string ContentId { get; }

    public bool HasPrivateMaterial => PrivateCertificates.Count > 0 || PrivatePgpKeys.Count > 0;

    public IReadOnlyList<SmimeCertificateEntry> SmimeFor(string address) =>
        _smimeByAddress.TryGetValue(address, out var found) ? found : [];

    public IReadOnlyList<PgpKeyEntry> PgpFor(string address) =>
        _pgpByAddress.TryGetValue(address, out var found) ? found : [];

    public IReadOnlyList<PgpKeyEntry> PgpForDomain(string domain) =>
        _pgpByDomainAlias.TryGetValue(domain, out var found) ? found : [];

    public KeyEntry? ByFingerprint(string fingerprint) => _byFingerprint.GetValueOrDefault(fingerprint);

    /// <summary>The OpenPGP entry holding a primary key or subkey with this long key ID (16 upper-case hex digits).</summary>
    public PgpKeyEntry? PgpByKeyId(string keyId) => _pgpByKeyId.GetValueOrDefault(keyId);

    public static KeyStoreSnapshot Empty { get; } = new([], [], [], contentId: "");

    /// <summary>
    /// Reads the folder. Certificates the store's <see cref="KeyStoreCache"/> knows by name (their fingerprint) are not
    /// read now; every other file is read and hashed, what was derived before from the same bytes comes from the cache,
    /// the rest is derived now (certificates parsed, OpenPGP self-signatures verified) and the cache written back.
    /// </summary>
    /// <exception cref="KeyStoreException">The folder cannot be read, or holds a damaged file.</exception>
    public static KeyStoreSnapshot Load(KeyStoreFolder folder)
    {
        folder.CheckFormat();
        var known = KeyStoreCache.Read(folder.Root);
        var cache = new KeyStoreCache();
        using var content = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        var smimeFiles = folder.Listing("smime", ".crt", ".key");
        var certificates = new List<SmimeCertificateEntry>(smimeFiles[".crt"].Count);
        var privateKeys = smimeFiles[".key"].Select(f => KeyStoreFolder.FingerprintOf(f, ".key")).ToHashSet(StringComparer.Ordinal);
        foreach (var file in smimeFiles[".crt"])
        {
            // A certificate file is named by the SHA-256 of its DER, and its facts depend on nothing else, so the cache
            // files them by that name and a load reads only the certificates it has not seen: the rest are read when
            // used, and checked then to still be the certificate their name says (CertificateOf).
            var fingerprint = KeyStoreFolder.FingerprintOf(file, ".crt");
            var hasPrivateKey = privateKeys.Contains(fingerprint);
            SmimeCertificateEntry entry;
            if (cache.SmimeKnown(fingerprint, known) is { } facts)
            {
                entry = SmimeCertificateEntry.FromFacts(facts, () => CertificateOf(file, fingerprint), hasPrivateKey);
            }
            else
            {
                var bytes = KeyStoreFolder.ReadIfPresent(file);
                if (bytes is null)
                {
                    continue;
                }

                var certificate = Damaged(file, () => X509CertificateLoader.LoadCertificate(FromPem(bytes, "CERTIFICATE")));
                entry = Damaged(file, () => SmimeCertificateEntry.Create(certificate, hasPrivateKey, null));
                cache.SmimeDerived(fingerprint, entry.Facts);
            }

            CheckName(file, fingerprint, entry);
            AppendLine(content, file, fingerprint, hasPrivateKey ? "key" : "");
            certificates.Add(entry);
        }

        var crls = new List<CrlEntry>();
        var crlFiles = folder.Listing("crl", ".crl");
        if (crlFiles[".crl"].Count > 0)
        {
            var bySubject = new Dictionary<string, List<SmimeCertificateEntry>>(StringComparer.Ordinal);
            foreach (var certificate in certificates)
            {
                Index(bySubject, certificate.Facts.SubjectKey, certificate);
            }

            foreach (var file in crlFiles[".crl"])
            {
                var bytes = KeyStoreFolder.ReadIfPresent(file);
                if (bytes is null)
                {
                    continue;
                }

                _ = Hash(content, file, bytes, "");
                var crl = Damaged(file, () => CrlEntry.Create(FromPem(bytes, "X509 CRL")));
                CheckName(file, KeyStoreFolder.FingerprintOf(file, ".crl"), crl);

                // A CRL was verified against its issuer when imported. It counts while that issuer verifies it, and
                // still after the issuer was removed (revocation only takes trust away), but not when a certificate
                // with the issuer's name is present and the signature does not verify: then it is forged.
                var candidates = bySubject.GetValueOrDefault(NameKeys.Of(crl.Crl.IssuerDN), []).Concat(bySubject.GetValueOrDefault(NameKeys.Any, []));
                var namedIssuers = candidates.Where(c => c.Parsed.SubjectDN.Equivalent(crl.Crl.IssuerDN)).ToList();
                if (namedIssuers.Count == 0 || namedIssuers.Any(c => cache.Verdict(crl.Fingerprint, c.Fingerprint, known, () => IsIssuerOf(c, crl))))
                {
                    crls.Add(crl);
                }
            }

            Revoke(certificates, crls);
        }

        var pgpFiles = folder.Listing("pgp", ".pub.asc", ".sec.asc", ".json");
        var pgpKeys = new List<PgpKeyEntry>();
        foreach (var file in pgpFiles[".pub.asc"])
        {
            var publicContent = KeyStoreFolder.ReadIfPresent(file);
            if (publicContent is null)
            {
                continue;
            }

            var fingerprint = KeyStoreFolder.FingerprintOf(file, ".pub.asc");
            var secretFile = folder.PgpSecret(fingerprint);
            var secretContent = pgpFiles[".sec.asc"].Contains(secretFile) ? KeyStoreFolder.ReadIfPresent(secretFile) : null;
            var settingsFile = folder.PgpSettings(fingerprint);
            var settings = pgpFiles[".json"].Contains(settingsFile) ? ReadSettings(settingsFile) : null;
            var hash = Hash(content, file, publicContent, "");
            hash += ":" + (secretContent is null ? "-" : Hash(content, secretFile, secretContent, ""));
            content.AppendData(Encoding.UTF8.GetBytes($"alias:{settings}\n"));

            PgpKeyEntry? parsed = null;
            var facts = cache.Pgp(hash, known, () =>
            {
                var publicRing = Damaged(file, () => new PgpPublicKeyRing(PgpUtilities.GetDecoderStream(new MemoryStream(publicContent))));
                var secretRing = secretContent is null
                    ? null
                    : Damaged(secretFile, () => new PgpSecretKeyRing(PgpUtilities.GetDecoderStream(new MemoryStream(secretContent))));
                parsed = Damaged(file, () => PgpKeyEntry.Create(publicRing, secretRing, settings));
                return parsed.Facts;
            });
            var entry = parsed ?? PgpKeyEntry.FromFacts(facts, () => publicContent, () => secretContent, settings);
            CheckName(file, fingerprint, entry);
            pgpKeys.Add(entry);
        }

        cache.WriteIfChanged(folder.Root, known);
        return new KeyStoreSnapshot(certificates, pgpKeys, crls, Convert.ToHexString(content.GetHashAndReset()));
    }

    /// <summary>
    /// Marks the certificates the CRLs revoke. Only a certificate whose serial number a CRL lists is parsed, to
    /// compare its issuer with the CRL's as <see cref="CrlEntry.RevocationOf"/> does.
    /// </summary>
    private static void Revoke(List<SmimeCertificateEntry> certificates, List<CrlEntry> crls)
    {
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var crl in crls)
        {
            foreach (var revoked in crl.Crl.GetRevokedCertificates() ?? Enumerable.Empty<Org.BouncyCastle.X509.X509CrlEntry>())
            {
                _ = listed.Add(Convert.ToHexString(revoked.SerialNumber.ToByteArray()));
            }
        }

        for (var i = 0; i < certificates.Count; i++)
        {
            if (!listed.Contains(certificates[i].Facts.BcSerial))
            {
                continue;
            }

            var revokedAt = RevocationOf(crls, certificates[i]);
            if (revokedAt is not null)
            {
                certificates[i] = certificates[i].With(certificates[i].HasPrivateKey, revokedAt);
            }
        }
    }

    /// <summary>
    /// The DER of the certificate file <paramref name="file"/>, read now (a load from the cache does not read it) and
    /// required to be the certificate its name says: a file changed or damaged since is refused where it is used.
    /// </summary>
    private static byte[] CertificateOf(string file, string fingerprint)
    {
        var bytes = KeyStoreFolder.ReadIfPresent(file)
            ?? throw new KeyStoreException($"{file}: the certificate file was removed after the key store was loaded; reload the key store");
        var der = Damaged(file, () => FromPem(bytes, "CERTIFICATE"));
        return string.Equals(Convert.ToHexString(SHA256.HashData(der)), fingerprint, StringComparison.Ordinal)
            ? der
            : throw new KeyStoreException($"{file}: damaged key store file: it no longer holds the certificate its name says; restore it, or remove {fingerprint} and import the certificate again");
    }

    /// <summary>The SHA-256 of <paramref name="bytes"/> (hex), also added with the file's name and <paramref name="extra"/> to the content ID.</summary>
    private static string Hash(IncrementalHash content, string file, byte[] bytes, string extra)
    {
        var hash = Convert.ToHexString(SHA256.HashData(bytes));
        AppendLine(content, file, hash, extra);
        return hash;
    }

    /// <summary>
    /// The content ID's line for one file: its name, the hash of what it holds (a certificate's is its name's fingerprint)
    /// and <paramref name="extra"/>. Written on the stack, with no string or array per file: 1 KB holds any file name.
    /// </summary>
    private static void AppendLine(IncrementalHash content, string file, string hash, string extra)
    {
        Span<byte> line = stackalloc byte[1024];
        if (!System.Text.Unicode.Utf8.TryWrite(line, $"{Path.GetFileName(file.AsSpan())}:{hash}:{extra}\n", out var written))
        {
            throw new KeyStoreException($"{file}: the file name is too long for a key store file");
        }

        content.AppendData(line[..written]);
    }

    /// <summary>The earliest revocation of <paramref name="certificate"/> that the store's CRLs record, or null.</summary>
    public DateTimeOffset? RevocationOf(SmimeCertificateEntry certificate) => RevocationOf(Crls, certificate);

    private static DateTimeOffset? RevocationOf(IEnumerable<CrlEntry> crls, SmimeCertificateEntry certificate) =>
        crls.Select(c => c.RevocationOf(certificate)).Where(d => d is not null).Min();

    /// <summary>Whether <paramref name="issuer"/> issued <paramref name="crl"/> and its signature verifies.</summary>
    public static bool IsIssuerOf(SmimeCertificateEntry issuer, CrlEntry crl)
    {
        if (!issuer.Parsed.SubjectDN.Equivalent(crl.Crl.IssuerDN))
        {
            return false;
        }

        try
        {
            crl.Crl.Verify(issuer.Parsed.GetPublicKey());
            return true;
        }
        catch (Exception e) when (e is Org.BouncyCastle.Security.Certificates.CrlException
                                      or Org.BouncyCastle.Security.InvalidKeyException
                                      or Org.BouncyCastle.Security.SignatureException
                                      or InvalidOperationException)
        {
            return false;
        }
    }

    internal static byte[] FromPem(byte[] content, string label)
    {
        var text = Encoding.ASCII.GetString(content);
        var fields = PemEncoding.Find(text);
        var found = text[fields.Label];
        if (found != label)
        {
            throw new FormatException($"expected a {label} PEM block, found {found}");
        }

        return Convert.FromBase64String(text[fields.Base64Data]);
    }

    private static string? ReadSettings(string path)
    {
        var content = KeyStoreFolder.ReadIfPresent(path);
        if (content is null)
        {
            return null;
        }

        return Damaged(path, () =>
        {
            using var document = JsonDocument.Parse(content);
            return document.RootElement.TryGetProperty("domain_alias", out var alias) && alias.ValueKind == JsonValueKind.String
                ? alias.GetString()
                : null;
        });
    }

    private static void CheckName(string file, string fingerprint, KeyEntry entry)
    {
        if (!string.Equals(fingerprint, entry.Fingerprint, StringComparison.Ordinal))
        {
            throw new KeyStoreException($"{file}: damaged key store file: its name does not match its fingerprint {entry.Fingerprint}");
        }
    }

    private static T Damaged<T>(string file, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is not KeyStoreException and not OutOfMemoryException)
        {
            throw new KeyStoreException($"{file}: damaged key store file: {e.Message.Split('\n')[0]}", e);
        }
    }

    private static void Index<T>(Dictionary<string, List<T>> index, string key, T entry)
    {
        if (!index.TryGetValue(key, out var list))
        {
            index[key] = list = [];
        }

        list.Add(entry);
    }
}
