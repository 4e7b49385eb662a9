using RuleMail.Core.Tests.Support;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Keys;

/// <summary>The folder as an admin sees it: damaged files are reported by name, crash leftovers are ignored.</summary>
public sealed class StoreFolderTests(OpenSslKeys openssl, GpgKeys gpg) : IClassFixture<OpenSslKeys>, IClassFixture<GpgKeys>
{
    [Fact]
    public void Open_of_a_missing_folder_is_refused()
    {
        using var store = new TestStore();

        var error = Assert.Throws<KeyStoreException>(() => store.Open());

        Assert.Contains(store.Directory, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pgp", ".pub.asc")]
    [InlineData("crl", ".crl")]
    public void A_damaged_store_file_is_reported_by_name(string folder, string suffix)
    {
        using var store = Filled();
        var file = Directory.GetFiles(store.PathOf(folder), "*" + suffix)[0];
        var content = File.ReadAllBytes(file);
        File.WriteAllBytes(file, content[..(content.Length / 2)]);

        var error = Assert.Throws<KeyStoreException>(() => store.Open());

        Assert.Contains(file, error.Message, StringComparison.Ordinal);
        Assert.Contains("damaged", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_damaged_certificate_file_is_reported_by_name_where_it_is_used_and_when_its_facts_are_not_cached()
    {
        using var store = Filled();
        // Erin's, not the CA's: a load with a CRL reads the CRL issuer's certificate to check the CRL's name and signature.
        var fingerprint = Assert.Single(store.Store.FindSmime("erin@example.org")).Fingerprint;
        var file = store.PathOf("smime", fingerprint + ".crt");
        var content = File.ReadAllBytes(file);
        File.WriteAllBytes(file, content[..(content.Length / 2)]);

        // The cache knows the certificate by its name, so the load does not read the file; every use of it does.
        var loaded = store.Open();
        var entry = Assert.IsType<SmimeCertificateEntry>(loaded.FindByFingerprint(fingerprint));
        foreach (var use in new Action[] { () => _ = entry.Certificate, () => _ = entry.Certificate })
        {
            var error = Assert.Throws<KeyStoreException>(use);
            Assert.StartsWith(file + ": damaged key store file", error.Message, StringComparison.Ordinal);
        }

        // Put back, the same loaded store reads it (a failed read is not kept).
        File.WriteAllBytes(file, content);
        Assert.Equal(fingerprint, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(entry.Certificate.RawData)));

        File.WriteAllBytes(file, content[..(content.Length / 2)]);
        File.Delete(store.PathOf(KeyStoreCache.FileName));
        var refused = Assert.Throws<KeyStoreException>(() => store.Open());
        Assert.Contains(file, refused.Message, StringComparison.Ordinal);
        Assert.Contains("damaged", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_store_file_whose_name_is_not_its_fingerprint_is_reported()
    {
        using var store = Filled();
        var file = Directory.GetFiles(store.PathOf("smime"), "*.crt")[0];
        var renamed = Path.Combine(Path.GetDirectoryName(file)!, new string('A', 64) + ".crt");
        File.Move(file, renamed);

        var error = Assert.Throws<KeyStoreException>(() => store.Open());

        Assert.Contains(renamed, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_store_of_an_unknown_format_is_refused()
    {
        using var store = Filled();
        File.WriteAllText(store.PathOf(KeyStoreFolder.MarkerFile), "{\"format\": 99}\n");

        var error = Assert.Throws<KeyStoreException>(() => store.Open());

        Assert.Contains("format", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Leftover_temporary_files_and_an_orphan_private_key_are_ignored()
    {
        using var store = Filled();
        var expected = store.Store.Entries.Select(e => e.Fingerprint).ToList();
        File.WriteAllText(store.PathOf("smime", $".{new string('B', 64)}.crt.0123.tmp"), "half-written");
        File.WriteAllText(store.PathOf("pgp", $".{new string('C', 40)}.pub.asc.0123.tmp"), "half-written");
        File.WriteAllText(store.PathOf("smime", new string('D', 64) + ".key"), "a key whose certificate never arrived");

        var reopened = store.Open();

        Assert.Equal(expected, reopened.Entries.Select(e => e.Fingerprint));
    }

    [Fact]
    public void The_store_folder_holds_only_the_documented_layout()
    {
        using var store = Filled();
        store.Store.Import([gpg["desk.pub.asc"]], domainAlias: "example.org");

        var files = store.Snapshot().Files.Keys.ToList();

        Assert.Contains(KeyStoreFolder.MarkerFile, files);
        Assert.All(
            files.Where(f => f != KeyStoreFolder.MarkerFile),
            f => Assert.Matches(@"^(smime/[0-9A-F]{64}\.(crt|key)|crl/[0-9A-F]{64}\.crl|pgp/[0-9A-F]{40}\.(pub\.asc|sec\.asc|json)|\.rulemail\.lock|\.rulemail-cache-[0-9a-f]{12})$", f));
    }

    private TestStore Filled()
    {
        var store = new TestStore();
        store.Import(Passphrases.File, openssl["ca.crt"], openssl["erin.p12"], openssl["crl.pem"], gpg["edna.sec.asc"]);
        return store;
    }
}
