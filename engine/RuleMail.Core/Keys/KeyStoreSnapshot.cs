using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace RuleMail.Keys;

/// <summary>
/// Everything in a key store folder at one moment, indexed by address. Immutable, so readers on any
/// thread can share it while a writer builds the next one.
/// </summary>
internal sealed class KeyStoreSnapshot
{
    private readonly Dictionary<string, List<SmimeCertificateEntry>> _smimeByAddress = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<PgpKeyEntry>> _pgpByAddress = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<PgpKeyEntry>> _pgpByDomainAlias = new(StringComparer.Ordinal);

    private KeyStoreSnapshot(List<SmimeCertificateEntry> certificates, List<PgpKeyEntry> pgpKeys, List<CrlEntry> crls)
    {
        Certificates = certificates;
        PgpKeys = pgpKeys;
        Crls = crls;
        Entries = [.. certificates.Cast<KeyEntry>().Concat(pgpKeys).Concat(crls)
            .OrderBy(e => e.Addresses.Count > 0 ? e.Addresses[0] : "~" + e.DisplayName, StringComparer.Ordinal)
            .ThenBy(e => e.Kind)
            .ThenBy(e => e.Fingerprint, StringComparer.Ordinal)];

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
        }
    }

    public IReadOnlyList<KeyEntry> Entries { get; }

    public IReadOnlyList<SmimeCertificateEntry> Certificates { get; }

    public IReadOnlyList<PgpKeyEntry> PgpKeys { get; }

    public IReadOnlyList<CrlEntry> Crls { get; }

    public bool HasPrivateMaterial => Certificates.Any(c => c.HasPrivateKey) || PgpKeys.Any(k => k.HasPrivateKey);

    public IReadOnlyList<SmimeCertificateEntry> SmimeFor(string address) =>
        _smimeByAddress.TryGetValue(address, out var found) ? found : [];

    public IReadOnlyList<PgpKeyEntry> PgpFor(string address) =>
        _pgpByAddress.TryGetValue(address, out var found) ? found : [];

    public IReadOnlyList<PgpKeyEntry> PgpForDomain(string domain) =>
        _pgpByDomainAlias.TryGetValue(domain, out var found) ? found : [];

    public static KeyStoreSnapshot Empty { get; } = new([], [], []);

    public static KeyStoreSnapshot Load(KeyStoreFolder folder)
    {
        folder.CheckFormat();
        var certificates = new List<SmimeCertificateEntry>();
        foreach (var file in folder.Files("smime", ".crt"))
        {
            var content = KeyStoreFolder.ReadIfPresent(file);
            if (content is null)
            {
                continue;
            }

            var fingerprint = KeyStoreFolder.FingerprintOf(file, ".crt");
            var certificate = Damaged(file, () => X509CertificateLoader.LoadCertificate(FromPem(content, "CERTIFICATE")));
            var entry = Damaged(file, () => SmimeCertificateEntry.Create(certificate, KeyStoreFolder.Exists(folder.SmimeKey(fingerprint)), null));
            CheckName(file, fingerprint, entry);
            certificates.Add(entry);
        }

        var crls = new List<CrlEntry>();
        foreach (var file in folder.Files("crl", ".crl"))
        {
            var content = KeyStoreFolder.ReadIfPresent(file);
            if (content is null)
            {
                continue;
            }

            var crl = Damaged(file, () => CrlEntry.Create(FromPem(content, "X509 CRL")));
            CheckName(file, KeyStoreFolder.FingerprintOf(file, ".crl"), crl);

            // A CRL was verified against its issuer when imported. It counts while that issuer verifies it, and
            // still after the issuer was removed (revocation only takes trust away), but not when a certificate
            // with the issuer's name is present and the signature does not verify: then it is forged.
            var namedIssuers = certificates.Where(c => c.Parsed.SubjectDN.Equivalent(crl.Crl.IssuerDN)).ToList();
            if (namedIssuers.Count == 0 || namedIssuers.Any(c => IsIssuerOf(c, crl)))
            {
                crls.Add(crl);
            }
        }

        for (var i = 0; i < certificates.Count; i++)
        {
            var revokedAt = RevocationOf(crls, certificates[i]);
            if (revokedAt is not null)
            {
                certificates[i] = certificates[i].With(certificates[i].HasPrivateKey, revokedAt);
            }
        }

        var pgpKeys = new List<PgpKeyEntry>();
        foreach (var file in folder.Files("pgp", ".pub.asc"))
        {
            var content = KeyStoreFolder.ReadIfPresent(file);
            if (content is null)
            {
                continue;
            }

            var fingerprint = KeyStoreFolder.FingerprintOf(file, ".pub.asc");
            var publicRing = Damaged(file, () => new PgpPublicKeyRing(PgpUtilities.GetDecoderStream(new MemoryStream(content))));
            var secretContent = KeyStoreFolder.ReadIfPresent(folder.PgpSecret(fingerprint));
            var secretRing = secretContent is null
                ? null
                : Damaged(folder.PgpSecret(fingerprint), () => new PgpSecretKeyRing(PgpUtilities.GetDecoderStream(new MemoryStream(secretContent))));
            var settings = ReadSettings(folder.PgpSettings(fingerprint));
            var entry = Damaged(file, () => PgpKeyEntry.Create(publicRing, secretRing, settings));
            CheckName(file, fingerprint, entry);
            pgpKeys.Add(entry);
        }

        return new KeyStoreSnapshot(certificates, pgpKeys, crls);
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
