using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using RuleMail.Core.Tests.Support;
using RuleMail.Json;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Keys;

/// <summary>
/// The store's cache of derived facts (<see cref="KeyStoreCache"/>): it saves parsing and verifying, and never changes
/// what the store holds. The key files stay the source of truth.
/// </summary>
public sealed class CacheTests(OpenSslKeys openssl, GpgKeys gpg) : IClassFixture<OpenSslKeys>, IClassFixture<GpgKeys>
{
    private const string Q = Passphrases.File;

    [Fact]
    public void A_load_from_the_cache_gives_the_same_entries_as_a_fresh_read_and_parses_nothing()
    {
        using var store = Filled();
        var cache = store.PathOf(KeyStoreCache.FileName);
        Assert.True(File.Exists(cache));

        var cached = store.Open();
        File.Delete(cache);
        var fresh = store.Open();

        Assert.Equal(Described(fresh, store), Described(cached, store));
        Assert.All(cached.Certificates.Where(c => !RevocationNeedsIt(c)), c => Assert.False(c.IsParsed));
        Assert.All(cached.PgpKeys, k => Assert.False(k.IsParsed));
        Assert.True(File.Exists(cache), "a load without a cache writes one");
    }

    [Fact]
    public void Lookups_and_listing_need_no_parsing_and_the_certificate_parses_to_the_same()
    {
        using var store = Filled();
        var cached = store.Open();

        var alice = cached.FindSmime("alice@example.org", KeyUsages.Encrypt);
        var edna = cached.FindPgp("edna@example.org", KeyUsages.Encrypt);
        _ = ContractJson.Serialize(KeyListDocument.From(cached, store.Time.GetUtcNow()));

        Assert.NotNull(alice);
        Assert.NotNull(edna);
        Assert.All(cached.Certificates.Where(c => !RevocationNeedsIt(c)), c => Assert.False(c.IsParsed));
        Assert.False(edna.IsParsed);
        Assert.Equal(openssl.Bytes("alice.der"), alice.Certificate.RawData);
        Assert.Equal(edna.Fingerprint, Convert.ToHexString(edna.PublicRing.GetPublicKey().GetFingerprint()));
        Assert.True(alice.IsParsed);
        Assert.NotNull(cached.OpenPrivateKey(alice).GetRSAPrivateKey());
    }

    [Fact]
    public void A_certificate_file_changed_in_place_is_refused_where_it_is_used_and_by_a_load_without_the_cache()
    {
        var (first, second) = TwoCertificatesOfTheSameSize();
        using var store = new TestStore();
        store.Import(new ImportFile("first.crt", first));
        var file = Assert.Single(Directory.GetFiles(store.PathOf("smime"), "*.crt"));
        var time = File.GetLastWriteTimeUtc(file);
        _ = store.Open();

        // Another certificate written over the file, with the same size and time: a load from the cache takes the
        // certificate by its name and does not read the file, but the file is read and checked wherever it is used.
        File.WriteAllBytes(file, second);
        File.SetLastWriteTimeUtc(file, time);
        Assert.Equal(new FileInfo(file).Length, first.Length);

        var loaded = store.Open();
        var entry = Assert.Single(loaded.FindSmime("first@example.org"));
        var error = Assert.Throws<KeyStoreException>(() => entry.Certificate);
        Assert.StartsWith(file + ": damaged key store file: it no longer holds the certificate its name says", error.Message, StringComparison.Ordinal);
        Assert.Throws<KeyStoreException>(() => loaded.FindSmime("first@example.org", KeyUsages.Encrypt)!.Certificate);
        Assert.Empty(loaded.FindSmime("other@example.org"));

        // Without the cache the file is parsed at load, and the load refuses it; a store loaded before keeps its content.
        File.Delete(store.PathOf(KeyStoreCache.FileName));
        var refused = Assert.Throws<KeyStoreException>(() => store.Open());
        Assert.Contains("does not match its fingerprint", refused.Message, StringComparison.Ordinal);
        Assert.Throws<KeyStoreException>(() => store.Store.Reload());
        Assert.Equal("first@example.org", Assert.Single(store.Store.Certificates).Addresses[0]);
    }

    [Fact]
    public void A_certificate_file_removed_after_the_load_is_an_error_where_it_is_used()
    {
        using var store = new TestStore();
        store.Import(openssl["bob.crt"]);
        _ = store.Open();
        var loaded = store.Open();
        var bob = Assert.Single(loaded.FindSmime("bob@example.org"));
        Assert.False(bob.IsParsed);

        File.Delete(store.PathOf("smime", bob.Fingerprint + ".crt"));

        var error = Assert.Throws<KeyStoreException>(() => bob.Certificate);
        Assert.Contains("was removed after the key store was loaded; reload the key store", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_removed_file_disappears_and_an_added_one_appears()
    {
        using var store = Filled();
        var host = store.Open();
        var bob = Assert.Single(host.FindSmime("bob@example.org"));
        var bobFile = store.PathOf("smime", bob.Fingerprint + ".crt");
        Assert.NotNull(KeyStoreCache.Read(store.Directory).SmimeOf(bob.Fingerprint));

        File.Delete(bobFile);
        var change = host.Reload();

        Assert.Empty(host.FindSmime("bob@example.org"));
        Assert.Null(host.FindByFingerprint(bob.Fingerprint));
        Assert.Contains(change.Removed, e => e.Fingerprint == bob.Fingerprint);
        Assert.Empty(store.Open().FindSmime("bob@example.org"));
        Assert.Null(KeyStoreCache.Read(store.Directory).SmimeOf(bob.Fingerprint));

        store.Import(openssl["bob.crt"]);
        Assert.Single(host.Reload().Added);
        Assert.Single(host.FindSmime("bob@example.org"));
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("empty")]
    [InlineData("truncated")]
    [InlineData("flipped")]
    [InlineData("other build")]
    [InlineData("other format")]
    public void A_corrupt_or_foreign_cache_is_ignored_and_rebuilt(string damage)
    {
        using var store = Filled();
        var path = store.PathOf(KeyStoreCache.FileName);
        var good = File.ReadAllBytes(path);
        var expected = Described(store.Open(), store);

        File.WriteAllBytes(path, Damage(good, damage));
        var loaded = store.Open();

        Assert.Equal(expected, Described(loaded, store));
        Assert.Equal(good, File.ReadAllBytes(path));
    }

    [Fact]
    public void Each_build_keeps_its_own_cache_and_a_write_leaves_the_three_newest_of_other_builds()
    {
        using var store = Filled();
        var ours = store.PathOf(KeyStoreCache.FileName);
        Assert.Matches(@"^\.rulemail-cache-[0-9a-f]{12}$", KeyStoreCache.FileName);
        var now = new DateTime(2026, 12, 1, 0, 0, 0, DateTimeKind.Utc);
        var others = new[] { ".rulemail-cache", ".rulemail-cache-000000000001", ".rulemail-cache-000000000002", ".rulemail-cache-000000000003", ".rulemail-cache-000000000004" };
        for (var i = 0; i < others.Length; i++)
        {
            File.WriteAllText(store.PathOf(others[i]), "another build's cache");
            File.SetLastWriteTimeUtc(store.PathOf(others[i]), now.AddHours(-10 + i));
        }

        File.WriteAllText(store.PathOf(".rulemail-cache-notes.txt"), "not a cache file");

        // A load with this build's cache present writes nothing and so leaves the others alone.
        _ = store.Open();
        Assert.All(others, o => Assert.True(File.Exists(store.PathOf(o)), o));

        // A write (this build's cache gone) keeps the three most recently written of the others.
        File.Delete(ours);
        _ = store.Open();
        Assert.True(File.Exists(ours));
        Assert.Equal(others[2..], others.Where(o => File.Exists(store.PathOf(o))));
        Assert.True(File.Exists(store.PathOf(".rulemail-cache-notes.txt")));
    }

    [Fact]
    public void Certificate_facts_are_taken_only_for_the_certificate_they_name()
    {
        using var store = new TestStore();
        store.Import(openssl["alice.crt"]);
        var alice = Assert.Single(store.Store.Certificates);
        var bob = SmimeCertificateEntry.Create(X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(openssl.Bytes("bob.crt"))), hasPrivateKey: false, revokedAt: null);
        var forged = alice.Facts with { Addresses = ["mallory@example.org"] };

        // Facts claiming alice's certificate, filed under another certificate's name: not used.
        var cache = new KeyStoreCache();
        cache.Put(bob.Fingerprint, forged);
        cache.Write(store.Directory);
        var loaded = store.Open();
        Assert.Empty(loaded.FindSmime("mallory@example.org"));
        Assert.DoesNotContain("mallory@example.org", Assert.Single(loaded.Certificates).Addresses);
        Assert.Single(loaded.FindSmime("alice@example.org"));

        // Bob's facts filed under alice's name: the name and the facts disagree, which only a damaged cache does.
        cache = new KeyStoreCache();
        cache.Put(alice.Fingerprint, bob.Facts);
        cache.Write(store.Directory);
        Assert.Contains("does not match its fingerprint", Assert.Throws<KeyStoreException>(() => store.Open()).Message, StringComparison.Ordinal);

        // The control: the forged facts under alice's own name are taken, so the tests above can fail.
        cache = new KeyStoreCache();
        cache.Put(alice.Fingerprint, forged);
        cache.Write(store.Directory);
        Assert.Single(store.Open().FindSmime("mallory@example.org"));
    }

    [Fact]
    public void Facts_of_another_certificate_are_refused_when_the_certificate_is_parsed()
    {
        using var store = new TestStore();
        store.Import(openssl["alice.crt"]);
        var alice = Assert.Single(store.Store.Certificates);
        var bob = SmimeCertificateEntry.Create(X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(openssl.Bytes("bob.crt"))), hasPrivateKey: false, revokedAt: null);

        // Alice's bytes under bob's name, with bob's facts filed under that name: the names agree, the parse does not.
        var file = store.PathOf("smime", alice.Fingerprint + ".crt");
        File.Move(file, store.PathOf("smime", bob.Fingerprint + ".crt"));
        var cache = new KeyStoreCache();
        cache.Put(bob.Fingerprint, bob.Facts);
        cache.Write(store.Directory);
        var entry = Assert.Single(store.Open().Certificates);

        var error = Assert.Throws<KeyStoreException>(() => entry.Certificate);
        Assert.Contains("it no longer holds the certificate its name says", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_revoked_certificate_stays_revoked_when_loaded_from_the_cache()
    {
        using var store = Filled();
        var now = store.Time.GetUtcNow();
        var cached = store.Open();
        File.Delete(store.PathOf(KeyStoreCache.FileName));
        var fresh = store.Open();

        foreach (var loaded in new[] { store.Store, fresh, cached, store.Open() })
        {
            var bob = Assert.Single(loaded.FindSmime("bob@example.org"));
            Assert.Equal(KeyStatus.Revoked, bob.StatusAt(now));
            Assert.Null(loaded.FindSmime("bob@example.org", KeyUsages.Encrypt));
            Assert.Equal(KeyStatus.Valid, Assert.Single(loaded.FindSmime("alice@example.org")).StatusAt(now));
        }
    }

    [Fact]
    public void A_key_revoked_by_another_writer_is_revoked_for_a_reader_whose_cache_knew_it_valid()
    {
        using var store = new TestStore();
        store.Import(gpg["rex.pub.asc"]);
        var host = store.Open();
        Assert.NotNull(host.FindPgp("rex@example.org", KeyUsages.Sign));
        var rex = Assert.Single(host.PgpKeys).Fingerprint;
        var before = File.ReadAllBytes(store.PathOf("pgp", rex + ".pub.asc"));
        Assert.NotNull(KeyStoreCache.Read(store.Directory));

        // Another process (its own KeyStore on the same folder) imports the revocation.
        store.Import(gpg["rex.rev.asc"]);
        host.Reload();

        Assert.Null(host.FindPgp("rex@example.org", KeyUsages.Sign));
        Assert.Equal(KeyStatus.Revoked, Assert.Single(host.PgpKeys).StatusAt(store.Time.GetUtcNow()));
        Assert.Equal(KeyStatus.Revoked, Assert.Single(store.Open().PgpKeys).StatusAt(store.Time.GetUtcNow()));

        // An admin puts the old file back by hand, in place (same name, as a restore from a backup would): the cache's
        // facts of the revoked ring are not used for it, the key is valid again, exactly as the file says.
        File.WriteAllBytes(store.PathOf("pgp", rex + ".pub.asc"), before);
        host.Reload();
        Assert.NotNull(host.FindPgp("rex@example.org", KeyUsages.Sign));
    }

    [Fact]
    public void The_version_changes_when_a_file_changes_and_only_then()
    {
        using var store = Filled();
        var version = store.Store.Version;

        store.Store.Reload();
        Assert.Same(version, store.Store.Version);

        var edna = Assert.Single(store.Store.FindPgp("edna@example.org"));
        File.AppendAllText(store.PathOf("pgp", edna.Fingerprint + ".pub.asc"), "\n");
        store.Store.Reload();
        Assert.NotSame(version, store.Store.Version);
    }

    [Fact]
    public void The_lock_file_is_in_the_store_folder_and_none_is_left_in_the_temp_folder()
    {
        string root;
        using (var store = Filled())
        {
            root = store.Store.Directory;
            store.Store.Reload();
            store.Store.Remove(Assert.Single(store.Store.FindSmime("bob@example.org")).Fingerprint);

            Assert.True(File.Exists(store.PathOf(".rulemail.lock")));
        }

        // Earlier builds named one lock file per store path in the temp folder (other RuleMail builds on this machine
        // may still make theirs, so only this store's name is looked for).
        var key = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(root))))[..24];
        Assert.False(File.Exists(Path.Combine(Path.GetTempPath(), $"rulemail-keystore-{key}.lock")));
    }

    /// <summary>The CRL's issuer (its name is compared with the CRL's) and bob (the CRL lists his serial) are parsed on load.</summary>
    private static bool RevocationNeedsIt(SmimeCertificateEntry certificate) =>
        certificate.IsCertificateAuthority || certificate.Addresses.Contains("bob@example.org");

    private TestStore Filled()
    {
        var store = new TestStore();
        store.Import(Q, openssl["ca.crt"], openssl["alice.p12"], openssl["bob.crt"], openssl["crl.pem"], openssl["erin.p12"], gpg["edna.sec.asc"], gpg["uma.pub.asc"]);
        store.Store.Import([gpg["desk.pub.asc"]], domainAlias: "example.net");
        return store;
    }

    /// <summary>Everything a caller can see of the entries, as one text: the listing plus the facts it leaves out.</summary>
    private static string Described(KeyStore loaded, TestStore store)
    {
        var text = new StringBuilder(ContractJson.Serialize(KeyListDocument.From(loaded, store.Time.GetUtcNow())));
        foreach (var c in loaded.Certificates)
        {
            text.Append($"\n{c.Fingerprint} ca={c.IsCertificateAuthority} rsa={c.IsRsa} anchor={c.IsTrustAnchor} revoked={c.RevokedAt:O} key={c.HasPrivateKey}");
        }

        foreach (var k in loaded.PgpKeys)
        {
            text.Append($"\n{k.Fingerprint} alias={k.DomainAlias} {string.Join(",", k.Keys)}");
        }

        text.Append($"\nanchors={string.Join(",", loaded.TrustAnchors.Select(a => a.Fingerprint))} crls={string.Join(",", loaded.Entries.OfType<CrlEntry>().Select(c => c.Fingerprint))}");
        return text.ToString();
    }

    private static byte[] Damage(byte[] good, string damage)
    {
        var bad = (byte[])good.Clone();
        switch (damage)
        {
            case "garbage":
                return Encoding.UTF8.GetBytes("not a cache at all\n");
            case "empty":
                return [];
            case "truncated":
                return good[..(good.Length / 2)];
            case "flipped":
                bad[good.Length / 2] ^= 0x40;
                return bad;
            case "other build":
            case "other format":
                // Valid as a file (its digest recomputed), but from another build or format: the facts are not trusted.
                var header = "RuleMail key store cache\n"u8.Length;
                bad[damage == "other format" ? header : header + 4 + 3] ^= 0x01;
                SHA256.HashData(bad.AsSpan(0, bad.Length - 32)).CopyTo(bad, bad.Length - 32);
                return bad;
            default:
                throw new ArgumentException(damage, nameof(damage));
        }
    }

    /// <summary>Two self-signed certificates whose PEM files have the same length (ECDSA signatures vary by a byte or two).</summary>
    private static (byte[] First, byte[] Second) TwoCertificatesOfTheSameSize()
    {
        var now = TimeProvider.System.GetUtcNow();
        byte[] Make(string name)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddEmailAddress($"{name}@example.org");
            request.CertificateExtensions.Add(san.Build());
            using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
            return Encoding.ASCII.GetBytes(certificate.ExportCertificatePem() + "\n");
        }

        var first = Make("first");
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var second = Make("other");
            if (second.Length == first.Length)
            {
                return (first, second);
            }
        }

        throw new InvalidOperationException("no two certificates of the same size in 100 attempts");
    }
}
