using RuleMail.Core.Tests.Support;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Keys;

/// <summary>OpenPGP keys made by the real gpg: public and secret, armored and binary, RSA and Ed25519/Cv25519.</summary>
public sealed class PgpImportTests(GpgKeys keys) : IClassFixture<GpgKeys>
{
    private const string Q = GpgKeys.FilePassphrase;

    [Theory]
    [InlineData("rita.pub.asc", "RSA-2048", "RSA-2048")]
    [InlineData("rita.pub.gpg", "RSA-2048", "RSA-2048")]
    [InlineData("edna.pub.asc", "Ed25519", "Cv25519")]
    [InlineData("edna.pub.gpg", "Ed25519", "Cv25519")]
    public void A_public_key_armored_or_binary_is_imported_with_its_signing_primary_and_encryption_subkey(string file, string primaryAlgorithm, string subkeyAlgorithm)
    {
        using var store = new TestStore();
        var owner = file.Split('.')[0];

        var imported = store.Import(keys[file]);

        var only = Assert.Single(imported);
        Assert.Equal(ImportChange.Added, only.Change);
        var entry = Assert.IsType<PgpKeyEntry>(only.Entry);
        Assert.Equal(keys.Fingerprint(owner), entry.Fingerprint);
        Assert.Equal([owner + "@example.org"], entry.Addresses);
        Assert.False(entry.HasPrivateKey);
        Assert.Collection(
            entry.Keys,
            primary =>
            {
                Assert.True(primary.IsPrimary);
                Assert.Equal(primaryAlgorithm, primary.Algorithm);
                Assert.Equal(KeyUsages.Sign, primary.Usages);
            },
            subkey =>
            {
                Assert.False(subkey.IsPrimary);
                Assert.Equal(subkeyAlgorithm, subkey.Algorithm);
                Assert.Equal(KeyUsages.Encrypt, subkey.Usages);
            });
        Assert.Equal(KeyUsages.Sign | KeyUsages.Encrypt, entry.Usages);
        var now = store.Time.GetUtcNow();
        Assert.Equal(entry.Keys[1].KeyId, entry.KeyFor(KeyUsages.Encrypt, now)?.KeyId);
        Assert.Equal(entry.Keys[0].KeyId, entry.KeyFor(KeyUsages.Sign, now)?.KeyId);
        Assert.True(File.Exists(store.PathOf("pgp", entry.Fingerprint + ".pub.asc")));
    }

    [Fact]
    public void An_armored_key_with_a_byte_order_mark_and_CRLF_line_ends_is_read()
    {
        using var store = new TestStore();
        var text = System.Text.Encoding.ASCII.GetString(keys.Files["edna.pub.asc"]).Replace("\n", "\r\n", StringComparison.Ordinal);
        var content = System.Text.Encoding.UTF8.GetPreamble().Concat(System.Text.Encoding.ASCII.GetBytes(text)).ToArray();

        var imported = store.Import(new ImportFile("edna-windows.asc", content));

        Assert.Equal(keys.Fingerprint("edna"), Assert.Single(imported).Entry.Fingerprint);
    }

    [Theory]
    [InlineData("rita.sec.asc")]
    [InlineData("rita.sec.gpg")]
    [InlineData("edna.sec.asc")]
    [InlineData("edna.sec.gpg")]
    public void A_passphrase_protected_secret_key_yields_secret_keys_that_sign_and_decrypt(string file)
    {
        using var store = new TestStore();

        var imported = store.Import(Q, keys[file]);

        var entry = Assert.IsType<PgpKeyEntry>(Assert.Single(imported).Entry);
        Assert.True(entry.HasPrivateKey);
        Assert.All(entry.Keys, k => Assert.True(k.HasSecretKey));
        AssertSecretKeysWork(store.Store, entry);
    }

    [Fact]
    public void An_unprotected_secret_key_is_imported_without_a_file_passphrase()
    {
        using var store = new TestStore();

        var imported = store.Import(keys["nia.sec.asc"]);

        var entry = Assert.IsType<PgpKeyEntry>(Assert.Single(imported).Entry);
        Assert.True(entry.HasPrivateKey);
        AssertSecretKeysWork(store.Store, entry);
    }

    [Fact]
    public void A_secret_key_imported_after_its_public_key_updates_the_entry()
    {
        using var store = new TestStore();
        store.Import(keys["edna.pub.asc"]);

        var imported = store.Import(Q, keys["edna.sec.gpg"]);

        Assert.Equal(ImportChange.Updated, Assert.Single(imported).Change);
        var entry = Assert.Single(store.Store.PgpKeys);
        Assert.NotNull(store.Store.FindPgp("edna@example.org", KeyUsages.Encrypt, needPrivateKey: true));
        Assert.NotNull(store.Store.FindPgp("edna@example.org", KeyUsages.Sign, needPrivateKey: true));
        AssertSecretKeysWork(store.Store, entry);
    }

    [Fact]
    public void Secret_subkeys_exported_later_add_the_new_subkey_and_keep_the_primary_keys_secret()
    {
        using var store = new TestStore();
        store.Import(keys["nia.sec.asc"]);

        var imported = store.Import(keys["nia.newsub.sec.asc"]);

        Assert.Equal(ImportChange.Updated, Assert.Single(imported).Change);
        var entry = Assert.Single(store.Open().PgpKeys);
        Assert.Equal(3, entry.Keys.Count);
        Assert.All(entry.Keys, k => Assert.True(k.HasSecretKey, $"{k.KeyId} lost its secret key"));
        var now = store.Time.GetUtcNow();
        Assert.Equal(entry.Keys[0].KeyId, entry.KeyFor(KeyUsages.Sign, now, needSecret: true)?.KeyId);
        AssertSecretKeysWork(store.Store, Assert.Single(store.Store.PgpKeys));
    }

    [Fact]
    public void A_full_secret_key_imported_after_its_secret_subkeys_fills_in_the_primary_keys_secret()
    {
        using var store = new TestStore();
        store.Import(keys["nia.newsub.sec.asc"]);
        Assert.False(Assert.Single(store.Store.PgpKeys).Keys[0].HasSecretKey);

        store.Import(keys["nia.sec.asc"]);

        var entry = Assert.Single(store.Open().PgpKeys);
        Assert.Equal(3, entry.Keys.Count);
        Assert.All(entry.Keys, k => Assert.True(k.HasSecretKey, $"{k.KeyId} has no secret key"));
    }

    [Fact]
    public void A_secret_key_imported_after_a_failed_attempt_to_open_it_can_be_opened()
    {
        using var store = new TestStore();
        var publicOnly = Assert.IsType<PgpKeyEntry>(Assert.Single(store.Import(keys["edna.pub.asc"])).Entry);
        var subkeyId = Convert.ToInt64(publicOnly.Keys[1].KeyId, 16);
        Assert.Throws<KeyStoreException>(() => store.Store.OpenPrivateKey(publicOnly, subkeyId));

        var withSecret = Assert.IsType<PgpKeyEntry>(Assert.Single(store.Import(Q, keys["edna.sec.asc"])).Entry);

        Assert.NotNull(store.Store.OpenPrivateKey(withSecret, subkeyId));
        AssertSecretKeysWork(store.Store, withSecret);
    }

    [Fact]
    public void The_secret_keys_are_usable_from_a_store_opened_later_on_the_same_folder()
    {
        using var store = new TestStore();
        store.Import(Q, keys["rita.sec.asc"]);

        var reopened = store.Open();

        AssertSecretKeysWork(reopened, Assert.Single(reopened.PgpKeys));
    }

    [Fact]
    public void The_revocation_certificate_gpg_writes_makes_the_key_revoked_when_imported_after_it()
    {
        using var store = new TestStore();
        store.Import(keys["rex.pub.asc"]);
        Assert.NotNull(store.Store.FindPgp("rex@example.org", KeyUsages.Sign));

        var imported = store.Import(keys["rex.rev.asc"]);

        var only = Assert.Single(imported);
        Assert.Equal(ImportChange.Updated, only.Change);
        Assert.Contains("revoked", only.Note, StringComparison.Ordinal);
        var entry = Assert.Single(store.Store.FindPgp("rex@example.org"));
        Assert.Equal(KeyStatus.Revoked, entry.StatusAt(store.Time.GetUtcNow()));
        Assert.Null(store.Store.FindPgp("rex@example.org", KeyUsages.Sign));
        Assert.Equal(KeyStatus.Revoked, Assert.Single(store.Open().PgpKeys).StatusAt(store.Time.GetUtcNow()));
    }

    [Fact]
    public void A_revocation_certificate_made_with_gpg_gen_revoke_revokes_the_key()
    {
        using var store = new TestStore();
        store.Import(keys["rob.pub.asc"]);

        store.Import(keys["rob.rev.asc"]);

        Assert.Equal(KeyStatus.Revoked, Assert.Single(store.Store.PgpKeys).StatusAt(store.Time.GetUtcNow()));
        Assert.Null(store.Store.FindPgp("rob@example.org", KeyUsages.Sign));
    }

    [Fact]
    public void A_revocation_certificate_imported_together_with_its_key_revokes_it()
    {
        using var store = new TestStore();

        store.Import(keys["rex.rev.asc"], keys["rex.pub.gpg"]);

        Assert.Equal(KeyStatus.Revoked, Assert.Single(store.Store.PgpKeys).StatusAt(store.Time.GetUtcNow()));
    }

    [Fact]
    public void A_revoked_user_id_yields_no_address()
    {
        using var store = new TestStore();

        var imported = store.Import(keys["uma.pub.asc"]);

        var entry = Assert.IsType<PgpKeyEntry>(Assert.Single(imported).Entry);
        Assert.Equal(["uma@example.org"], entry.Addresses);
        Assert.Equal(["Uma Example <uma@example.org>"], entry.UserIds);
        Assert.Empty(store.Store.FindPgp("uma.old@example.org"));
        Assert.NotNull(store.Store.FindPgp("uma@example.org", KeyUsages.Sign));
    }

    [Fact]
    public void A_domain_alias_lets_a_key_serve_every_address_of_the_domain()
    {
        using var store = new TestStore();

        var imported = store.Store.Import([keys["desk.pub.asc"]], domainAlias: "example.org");

        var entry = Assert.IsType<PgpKeyEntry>(Assert.Single(imported).Entry);
        Assert.Equal("example.org", entry.DomainAlias);
        Assert.Equal(entry.Fingerprint, store.Store.FindPgp("anyone@example.org", KeyUsages.Sign)?.Fingerprint);
        Assert.Equal(entry.Fingerprint, Assert.Single(store.Store.FindPgp("Someone.Else@EXAMPLE.ORG")).Fingerprint);
        Assert.Empty(store.Store.FindPgp("anyone@example.net"));
        Assert.Empty(store.Store.FindPgp("anyone@sub.example.org"));
        Assert.Equal("example.org", Assert.Single(store.Open().PgpKeys).DomainAlias);
    }

    [Fact]
    public void A_key_that_names_the_address_comes_before_a_domain_alias()
    {
        using var store = new TestStore();
        store.Store.Import([keys["desk.pub.asc"]], domainAlias: "@Example.org");

        store.Import(keys["edna.pub.asc"]);

        Assert.Equal(
            [keys.Fingerprint("edna"), keys.Fingerprint("desk")],
            store.Store.FindPgp("edna@example.org").Select(k => k.Fingerprint));
        Assert.Equal(keys.Fingerprint("desk"), store.Store.FindPgp("rita@example.org", KeyUsages.Sign)?.Fingerprint);
    }

    [Fact]
    public void A_key_without_an_address_is_refused_unless_a_domain_alias_is_given()
    {
        using var store = new TestStore();

        var error = Assert.Throws<KeyStoreException>(() => store.Import(keys["desk.pub.asc"]));

        Assert.Contains("desk.pub.asc", error.Message, StringComparison.Ordinal);
        Assert.Contains("--domain-alias", error.Message, StringComparison.Ordinal);
        Assert.Empty(store.Store.Entries);
    }

    [Theory]
    [InlineData("example")]
    [InlineData("a@example.org")]
    [InlineData("exa mple.org")]
    public void A_domain_alias_that_is_not_a_domain_is_refused(string alias)
    {
        using var store = new TestStore();

        var error = Assert.Throws<KeyStoreException>(() => store.Store.Import([keys["desk.pub.asc"]], domainAlias: alias));

        Assert.Contains(alias, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(store.Directory));
    }

    private static void AssertSecretKeysWork(KeyStore store, PgpKeyEntry entry)
    {
        var now = store.Time.GetUtcNow();
        var signing = entry.KeyFor(KeyUsages.Sign, now, needSecret: true);
        var encryption = entry.KeyFor(KeyUsages.Encrypt, now, needSecret: true);
        Assert.NotNull(signing);
        Assert.NotNull(encryption);

        var signingId = Convert.ToInt64(signing.KeyId, 16);
        var signingPublic = entry.PublicRing.GetPublicKey(signingId);
        Assert.True(Pgp.SignAndVerify(store.OpenPrivateKey(entry, signingId), signingPublic, "signed by RuleMail"u8.ToArray()));

        var encryptionId = Convert.ToInt64(encryption.KeyId, 16);
        var message = "for your eyes only"u8.ToArray();
        Assert.Equal(message, Pgp.EncryptAndDecrypt(entry.PublicRing.GetPublicKey(encryptionId), store.OpenPrivateKey(entry, encryptionId), message));
    }
}
