using RuleMail.Core.Tests.Support;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Keys;

/// <summary>Removing an entry by fingerprint takes its private key with it and touches nothing else.</summary>
public sealed class RemoveTests(OpenSslKeys openssl, GpgKeys gpg) : IClassFixture<OpenSslKeys>, IClassFixture<GpgKeys>
{
    private const string Q = Passphrases.File;

    [Fact]
    public void Remove_of_an_SMIME_certificate_deletes_it_and_its_private_key_and_nothing_else()
    {
        using var store = FilledStore();
        var alice = Assert.Single(store.Store.FindSmime("alice@example.org"));
        var before = store.Snapshot();

        var removed = store.Store.Remove(alice.Fingerprint);

        Assert.Equal(alice.Fingerprint, removed.Fingerprint);
        Assert.Empty(store.Store.FindSmime("alice@example.org"));
        Assert.Empty(store.Open().FindSmime("alice@example.org"));
        AssertOnlyRemoved(before, store.Snapshot(), $"smime/{alice.Fingerprint}.crt", $"smime/{alice.Fingerprint}.key");
    }

    [Fact]
    public void Remove_of_an_OpenPGP_key_deletes_its_public_and_secret_rings_and_its_settings()
    {
        using var store = FilledStore();
        store.Store.Import([gpg["desk.pub.asc"]], domainAlias: "example.org");
        var edna = gpg.Fingerprint("edna");
        var desk = gpg.Fingerprint("desk");
        var before = store.Snapshot();

        store.Store.Remove(edna);
        store.Store.Remove(desk);

        Assert.DoesNotContain(store.Store.FindPgp("edna@example.org"), k => k.Fingerprint == edna);
        Assert.Empty(store.Store.FindPgp("anyone@example.org"));
        AssertOnlyRemoved(before, store.Snapshot(), $"pgp/{edna}.pub.asc", $"pgp/{edna}.sec.asc", $"pgp/{desk}.pub.asc", $"pgp/{desk}.json");
    }

    [Fact]
    public void Remove_of_a_CRL_lifts_its_revocations()
    {
        using var store = FilledStore();
        var crl = Assert.Single(store.Store.Entries.OfType<CrlEntry>());
        Assert.Equal(KeyStatus.Revoked, Assert.Single(store.Store.FindSmime("bob@example.org")).StatusAt(store.Time.GetUtcNow()));

        store.Store.Remove(crl.Fingerprint);

        Assert.Equal(KeyStatus.Valid, Assert.Single(store.Store.FindSmime("bob@example.org")).StatusAt(store.Time.GetUtcNow()));
        Assert.False(File.Exists(store.PathOf("crl", crl.Fingerprint + ".crl")));
    }

    [Theory]
    [InlineData(16, false, false)]
    [InlineData(24, true, false)]
    [InlineData(40, true, true)]
    public void Remove_accepts_a_unique_prefix_of_16_or_more_hex_digits_in_any_case_with_separators(int length, bool lowerCase, bool colons)
    {
        using var store = FilledStore();
        var edna = gpg.Fingerprint("edna");
        var wanted = edna[..length];
        wanted = lowerCase ? wanted.ToLowerInvariant() : wanted;
        wanted = colons ? string.Join(':', wanted.Chunk(4).Select(c => new string(c))) : wanted;

        var removed = store.Store.Remove(wanted);

        Assert.Equal(edna, removed.Fingerprint);
        Assert.Empty(store.Store.FindPgp("edna@example.org"));
    }

    [Theory]
    [InlineData("0000000000000000000000000000000000000000")]
    [InlineData("not a fingerprint")]
    [InlineData("")]
    public void Remove_of_an_unknown_fingerprint_is_refused_and_changes_nothing(string fingerprint)
    {
        using var store = FilledStore();
        var before = store.Snapshot();

        Assert.Throws<KeyStoreException>(() => store.Store.Remove(fingerprint));

        before.AssertSameAs(store.Snapshot());
    }

    [Fact]
    public void Remove_refuses_a_prefix_shorter_than_16_digits()
    {
        using var store = FilledStore();
        var before = store.Snapshot();

        var error = Assert.Throws<KeyStoreException>(() => store.Store.Remove(gpg.Fingerprint("edna")[..15]));

        Assert.Contains("fingerprint", error.Message, StringComparison.Ordinal);
        before.AssertSameAs(store.Snapshot());
    }

    [Fact]
    public void A_private_key_opened_before_its_entry_was_removed_cannot_be_opened_again()
    {
        using var store = FilledStore();
        var alice = Assert.Single(store.Store.FindSmime("alice@example.org"));
        var edna = Assert.Single(store.Store.FindPgp("edna@example.org"));
        var ednaKeyId = Convert.ToInt64(edna.KeyId, 16);
        store.Store.OpenPrivateKey(alice).Dispose();
        Assert.NotNull(store.Store.OpenPrivateKey(edna, ednaKeyId));

        store.Store.Remove(alice.Fingerprint);
        store.Store.Remove(edna.Fingerprint);

        Assert.Throws<KeyStoreException>(() => store.Store.OpenPrivateKey(alice));
        Assert.Throws<KeyStoreException>(() => store.Store.OpenPrivateKey(edna, ednaKeyId));
    }

    private TestStore FilledStore()
    {
        var store = new TestStore();
        store.Import(
            Q,
            openssl["ca.crt"], openssl["alice.p12"], openssl["bob.crt"], openssl["crl.pem"], openssl["erin.crt"],
            gpg["edna.sec.asc"], gpg["uma.pub.asc"]);
        return store;
    }

    private static void AssertOnlyRemoved(FolderSnapshot before, FolderSnapshot after, params string[] removed)
    {
        Assert.Equal(
            before.Files.Keys.Except(removed).Order(StringComparer.Ordinal),
            after.Files.Keys.Order(StringComparer.Ordinal));
        Assert.All(removed, file => Assert.Contains(file, before.Files.Keys));
        Assert.All(after.Files, file => Assert.Equal(before.Files[file.Key], file.Value));
    }
}
