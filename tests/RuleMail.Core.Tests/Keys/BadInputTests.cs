using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Bcpg.OpenPgp;
using RuleMail.Core.Tests.Support;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Keys;

/// <summary>
/// Every refused import throws a <see cref="KeyStoreException"/> that names the file, and leaves every
/// file of the store exactly as it was.
/// </summary>
public sealed class BadInputTests(OpenSslKeys openssl, GpgKeys gpg) : IClassFixture<OpenSslKeys>, IClassFixture<GpgKeys>
{
    private const string Q = Passphrases.File;
    private const string WrongPassphrase = "not-the-file-passphrase";

    [Fact]
    public void A_text_file_that_is_no_key_is_refused()
    {
        using var store = PopulatedStore();

        AssertRefused(store, "notes.txt", () => store.Import(new ImportFile("notes.txt", "just some notes, no key here\n"u8.ToArray())));
    }

    [Fact]
    public void An_empty_file_is_refused()
    {
        using var store = PopulatedStore();

        AssertRefused(store, "empty.pem", () => store.Import(new ImportFile("empty.pem", [])));
    }

    [Theory]
    [InlineData(0x30)]
    [InlineData(0x99)]
    [InlineData(0xC6)]
    [InlineData(0x85)]
    [InlineData(0xFF)]
    [InlineData(0x01)]
    public void Random_bytes_are_refused_as_a_KeyStoreException(byte first)
    {
        using var store = PopulatedStore();
        foreach (var seed in Enumerable.Range(1, 20))
        {
            var junk = new byte[40 + seed];
#pragma warning disable CA5394 // Reproducible junk, not a secret.
            new Random(seed).NextBytes(junk);
#pragma warning restore CA5394
            junk[0] = first;
            var name = $"junk-{first:X2}-{seed}.bin";

            AssertRefused(store, name, () => store.Import(new ImportFile(name, junk)));
        }
    }

    [Theory]
    [InlineData("alice.p12", null)]
    [InlineData("alice.legacy.p12", null)]
    [InlineData("alice.pkcs8.enc.pem", "alice.crt")]
    [InlineData("alice.legacy.pem", "alice.crt")]
    public void An_encrypted_SMIME_file_with_a_wrong_or_missing_passphrase_is_refused(string file, string? certificate)
    {
        using var store = PopulatedStore();
        ImportFile[] files = certificate is null ? [openssl[file]] : [openssl[certificate], openssl[file]];

        AssertRefused(store, file, () => store.Store.Import(files, WrongPassphrase), "passphrase");
        AssertRefused(store, file, () => store.Store.Import(files), "passphrase");
    }

    [Theory]
    [InlineData("rita.sec.asc")]
    [InlineData("edna.sec.gpg")]
    public void A_gpg_secret_key_with_a_wrong_or_missing_passphrase_is_refused(string file)
    {
        using var store = PopulatedStore();

        AssertRefused(store, file, () => store.Import(WrongPassphrase, gpg[file]), "passphrase");
        AssertRefused(store, file, () => store.Import(gpg[file]), "passphrase");
    }

    [Theory]
    [InlineData("alice.crt")]
    [InlineData("alice.der")]
    [InlineData("alice.p12")]
    [InlineData("alice.combined.pem")]
    [InlineData("crl.pem")]
    [InlineData("crl.der")]
    public void A_truncated_SMIME_file_is_refused(string file)
    {
        using var store = PopulatedStore();
        var content = openssl.Bytes(file);
        var truncated = new ImportFile(file, content[..(content.Length * 2 / 3)]);

        AssertRefused(store, file, () => store.Store.Import([openssl["ca.crt"], truncated], Q));
    }

    [Theory]
    [InlineData("rita.pub.asc")]
    [InlineData("rita.pub.gpg")]
    [InlineData("edna.sec.asc")]
    [InlineData("edna.sec.gpg")]
    public void A_truncated_OpenPGP_file_is_refused(string file)
    {
        using var store = PopulatedStore();
        var content = gpg.Files[file];
        var truncated = new ImportFile(file, content[..(content.Length / 2)]);

        AssertRefused(store, file, () => store.Import(Q, truncated));
    }

    [Fact]
    public void A_certificate_without_an_address_is_refused()
    {
        using var store = PopulatedStore();

        AssertRefused(store, "nobody.crt", () => store.Import(openssl["nobody.crt"]), "no e-mail address");
    }

    [Theory]
    [InlineData("alice.rsa.pem")]
    [InlineData("alice.pkcs8.pem")]
    [InlineData("frank.ec.pem")]
    public void A_private_key_without_its_certificate_is_refused(string file)
    {
        using var store = PopulatedStore();

        AssertRefused(store, file, () => store.Import(openssl[file]), "belongs to no certificate");
    }

    [Theory]
    [InlineData("stranger-crl.pem")]
    [InlineData("crl.pem")]
    public void A_CRL_whose_issuer_is_not_in_the_store_is_refused(string file)
    {
        using var store = PopulatedStore();

        AssertRefused(store, file, () => store.Import(openssl[file]), "issuer");
    }

    [Fact]
    public void A_CRL_signed_by_another_key_under_its_issuers_name_is_refused()
    {
        using var store = PopulatedStore();
        store.Import(openssl["ca.crt"]);
        using var impostorKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(
            X509CertificateLoader.LoadCertificate(openssl.Bytes("ca.crt")).SubjectName, impostorKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.KeyCertSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = store.Time.GetUtcNow();
        using var impostor = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        var builder = new CertificateRevocationListBuilder();
        builder.AddEntry(Convert.FromHexString(OpenSslKeys.AliceSerial), now.AddHours(-1));
        var forged = new ImportFile("forged.crl", builder.Build(impostor, System.Numerics.BigInteger.One, now.AddDays(7), HashAlgorithmName.SHA256));

        AssertRefused(store, "forged.crl", () => store.Import(forged), "does not verify");
    }

    [Fact]
    public void A_revocation_certificate_for_a_key_not_in_the_store_is_refused()
    {
        using var store = PopulatedStore();

        AssertRefused(store, "rex.rev.asc", () => store.Import(gpg["rex.rev.asc"]), "not in the key store");
    }

    [Fact]
    public void A_tampered_revocation_certificate_is_refused()
    {
        using var store = PopulatedStore();
        store.Import(gpg["rex.pub.asc"]);
        var binary = Pgp.Dearmor(gpg.Files["rex.rev.asc"]);
        binary[^3] ^= 0x01;

        AssertRefused(store, "rex.rev.tampered", () => store.Import(new ImportFile("rex.rev.tampered", binary)), "does not verify");
        Assert.Equal(KeyStatus.Valid, Assert.Single(store.Store.FindPgp("rex@example.org")).StatusAt(store.Time.GetUtcNow()));
    }

    [Fact]
    public void An_OpenPGP_message_is_refused_as_not_a_key()
    {
        using var store = PopulatedStore();
        using var buffer = new MemoryStream();
        using (var literal = new PgpLiteralDataGenerator().Open(buffer, PgpLiteralData.Binary, "note.txt", 5, TimeProvider.System.GetUtcNow().UtcDateTime))
        {
            literal.Write("hello"u8);
        }

        AssertRefused(store, "message.pgp", () => store.Import(new ImportFile("message.pgp", Pgp.Armor(buffer.ToArray()))), "not a key");
    }

    [Theory]
    [InlineData("alice.p12")]
    [InlineData("nia.sec.asc")]
    public void A_private_key_is_refused_when_the_store_has_no_passphrase(string file)
    {
        using var store = new TestStore(passphrase: null);
        store.Import(openssl["erin.crt"]);
        var content = file.EndsWith(".asc", StringComparison.Ordinal) ? gpg[file] : openssl[file];

        AssertRefused(store, file, () => store.Import(Q, content), KeyStorePassphrase.EnvironmentVariable);
    }

    [Theory]
    [InlineData("alice.p12")]
    [InlineData("nia.sec.asc")]
    public void A_private_key_is_refused_when_the_store_passphrase_does_not_open_the_keys_already_there(string file)
    {
        using var store = PopulatedStore();
        var wrong = store.Open(passphrase: "not-the-store-passphrase");
        var content = file.EndsWith(".asc", StringComparison.Ordinal) ? gpg[file] : openssl[file];

        AssertRefused(store, file, () => wrong.Import([content], Q), "wrong passphrase");
    }

    [Fact]
    public void A_wrong_store_passphrase_is_detected_when_the_store_holds_only_OpenPGP_secret_keys()
    {
        using var store = new TestStore();
        store.Import(Q, gpg["rita.sec.asc"]);
        var wrong = store.Open(passphrase: "not-the-store-passphrase");

        AssertRefused(store, "nia.sec.asc", () => wrong.Import([gpg["nia.sec.asc"]]), "wrong passphrase");
    }

    [Fact]
    public void Public_material_is_imported_whatever_the_store_passphrase()
    {
        using var store = PopulatedStore();
        var wrong = store.Open(passphrase: "not-the-store-passphrase");

        var imported = wrong.Import([openssl["alice.crt"], gpg["rita.pub.asc"]]);

        Assert.All(imported, i => Assert.Equal(ImportChange.Added, i.Change));
    }

    [Fact]
    public void A_multi_file_import_whose_last_file_is_unreadable_writes_nothing()
    {
        using var store = PopulatedStore();
        ImportFile[] files = [openssl["ca.crt"], openssl["alice.p12"], openssl["crl.pem"], gpg["rita.sec.asc"], gpg["edna.pub.asc"], new("broken.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n"u8.ToArray())];

        AssertRefused(store, "broken.pem", () => store.Store.Import(files, Q));
        Assert.Empty(store.Store.FindSmime("alice@example.org"));
        Assert.Empty(store.Store.FindPgp("rita@example.org"));
    }

    [Fact]
    public void A_multi_file_import_whose_last_file_is_unacceptable_writes_nothing()
    {
        using var store = PopulatedStore();
        ImportFile[] files = [openssl["alice.p12"], gpg["rita.sec.asc"], gpg["rex.pub.asc"], openssl["nobody.crt"]];

        AssertRefused(store, "nobody.crt", () => store.Store.Import(files, Q));
        Assert.Empty(store.Open().FindSmime("alice@example.org"));
    }

    [Fact]
    public void A_refused_first_import_does_not_create_the_store_folder()
    {
        using var store = new TestStore();

        var error = Assert.Throws<KeyStoreException>(() => store.Store.Import([openssl["alice.crt"], openssl["nobody.crt"]]));

        Assert.Contains("nobody.crt", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(store.Directory));
    }

    /// <summary>A store that already holds public and private material of both kinds (erin, edna, uma).</summary>
    private TestStore PopulatedStore()
    {
        var store = new TestStore();
        store.Import(Q, openssl["erin.crt"], openssl["erin.pkcs8.pem"], gpg["edna.sec.gpg"], gpg["uma.pub.gpg"]);
        return store;
    }

    private static void AssertRefused(TestStore store, string file, Action import, string? reason = null)
    {
        var before = store.Snapshot();
        var entries = store.Store.Entries.Select(e => e.Fingerprint).ToList();

        var error = Assert.Throws<KeyStoreException>(import);

        Assert.Contains(file, error.Message, StringComparison.Ordinal);
        if (reason is not null)
        {
            Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(Passphrases.Store, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Q, error.Message, StringComparison.Ordinal);
        before.AssertSameAs(store.Snapshot());
        Assert.Equal(entries, store.Store.Entries.Select(e => e.Fingerprint));
    }
}
