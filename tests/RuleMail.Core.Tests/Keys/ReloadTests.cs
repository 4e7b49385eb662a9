using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Keys;

/// <summary>
/// A running host's store reloaded while another process (<c>rulemail keys import</c>, an admin's copy) changes the
/// folder: what loads whole, with every private key opened, is put in force and reported by fingerprint; anything
/// less (a damaged file, a key under another passphrase, a missing marker) leaves the loaded store as it was.
/// </summary>
public sealed class ReloadTests(OpenSslKeys openssl, GpgKeys gpg, SmimeMail mail)
    : IClassFixture<OpenSslKeys>, IClassFixture<GpgKeys>, IClassFixture<SmimeMail>
{
    private const string Q = Passphrases.File;

    [Fact]
    public void ReloadAndUnlockAll_puts_in_force_what_another_process_imported_and_names_it_by_fingerprint()
    {
        using var store = new TestStore();
        store.Import(openssl["ca.crt"]);
        var host = store.Open();
        host.UnlockAll();

        store.Open().Import([openssl["alice.p12"], gpg["rita.sec.asc"]], Q);
        var change = host.ReloadAndUnlockAll();

        var alice = Assert.Single(change.Added, e => e.Kind == KeyKind.Smime);
        var rita = Assert.Single(change.Added, e => e.Kind == KeyKind.Pgp);
        Assert.Equal(2, change.Added.Count);
        Assert.Empty(change.Removed);
        Assert.Empty(change.Updated);
        Assert.Equal(3, change.Entries);
        Assert.NotNull(host.FindSmime("alice@example.org", KeyUsages.Sign, needPrivateKey: true));
        Assert.NotNull(host.FindPgp("rita@example.org", KeyUsages.Encrypt, needPrivateKey: true));
        var line = change.ToString();
        Assert.StartsWith("2 added (", line, StringComparison.Ordinal);
        Assert.Contains($"SHA-256 fingerprint {alice.Fingerprint}", line, StringComparison.Ordinal);
        Assert.Contains($"OpenPGP fingerprint {rita.Fingerprint}", line, StringComparison.Ordinal);
        Assert.EndsWith(", 0 removed", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_reload_of_an_unchanged_folder_reports_nothing()
    {
        using var store = new TestStore();
        store.Import(Q, openssl["alice.p12"], gpg["rita.sec.asc"], openssl["crl.pem"], openssl["ca.crt"]);
        var host = store.Open();
        host.UnlockAll();

        var change = host.ReloadAndUnlockAll();

        Assert.True(change.IsEmpty, change.ToString());
        Assert.Equal(4, change.Entries);
        Assert.Equal("0 added, 0 removed", change.ToString());
    }

    [Fact]
    public void A_removed_entry_is_reported_and_its_opened_private_key_is_no_longer_handed_out()
    {
        using var store = new TestStore();
        store.Import(Q, openssl["alice.p12"], openssl["erin.p12"]);
        var host = store.Open();
        host.UnlockAll();
        var alice = Assert.Single(host.FindSmime("alice@example.org"));

        store.Open().Remove(alice.Fingerprint);
        var change = host.ReloadAndUnlockAll();

        Assert.Equal(alice.Fingerprint, Assert.Single(change.Removed).Fingerprint);
        Assert.Empty(change.Added);
        Assert.Contains("0 added, 1 removed (S/MIME alice@example.org", change.ToString(), StringComparison.Ordinal);
        Assert.Empty(host.FindSmime("alice@example.org"));
        Assert.Throws<KeyStoreException>(() => host.OpenPrivateKey(alice));
        Assert.NotNull(host.FindSmime("erin@example.org", KeyUsages.Sign, needPrivateKey: true));
    }

    [Fact]
    public void An_entry_that_gained_its_private_key_or_a_new_signature_is_reported_as_updated()
    {
        using var store = new TestStore();
        store.Import(openssl["alice.crt"], gpg["kai.pub.asc"]);
        var host = store.Open();
        host.UnlockAll();

        store.Open().Import([openssl["alice.pkcs8.pem"], gpg["kai.extended.pub.asc"]]);
        var change = host.ReloadAndUnlockAll();

        Assert.Empty(change.Added);
        Assert.Empty(change.Removed);
        Assert.Equal(2, change.Updated.Count);
        Assert.Contains(change.Updated, e => e.Kind == KeyKind.Smime && e.HasPrivateKey);
        Assert.Contains(change.Updated, e => e.Kind == KeyKind.Pgp);
        Assert.EndsWith("0 removed, 2 updated (" + string.Join("; ", change.Updated.Select(Described)) + ")", change.ToString(), StringComparison.Ordinal);
        using var opened = host.OpenPrivateKey(host.FindSmime("alice@example.org", KeyUsages.Sign, needPrivateKey: true)!);
        Assert.True(opened.HasPrivateKey);
    }

    [Theory]
    [InlineData("smime", ".crt")]
    [InlineData("smime", ".key")]
    [InlineData("pgp", ".pub.asc")]
    public void A_damaged_file_keeps_the_loaded_store_in_force_and_the_error_names_the_file(string folder, string suffix)
    {
        using var store = new TestStore();
        store.Import(Q, openssl["alice.p12"], gpg["rita.sec.asc"]);
        var host = store.Open();
        host.UnlockAll();
        var before = host.Entries;
        store.Open().Import([openssl["erin.p12"], gpg["nia.sec.asc"]], Q);
        var erin = Assert.Single(store.Open().FindSmime("erin@example.org"));
        var file = suffix == ".pub.asc"
            ? store.PathOf(folder, gpg.Fingerprint("nia") + suffix)
            : store.PathOf(folder, erin.Fingerprint + suffix);
        var content = File.ReadAllBytes(file);
        File.WriteAllBytes(file, content[..(content.Length / 2)]);

        var error = Assert.Throws<KeyStoreException>(host.ReloadAndUnlockAll);

        Assert.Contains(file, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Same(before, host.Entries);
        Assert.Empty(host.FindSmime("erin@example.org"));
        Assert.Empty(host.FindPgp("nia@example.org"));
        Assert.NotNull(host.FindSmime("alice@example.org", KeyUsages.Sign, needPrivateKey: true));
        Assert.NotNull(host.FindPgp("rita@example.org", KeyUsages.Sign, needPrivateKey: true));
    }

    [Fact]
    public void A_private_key_under_another_passphrase_is_refused_and_the_loaded_keys_stay()
    {
        using var store = new TestStore();
        store.Import(Q, openssl["alice.p12"]);
        var host = store.Open();
        host.UnlockAll();
        var before = host.Entries;

        // An admin copies erin's files over from a store with another passphrase: they load, but cannot be opened.
        using var other = new TestStore("another-store-passphrase");
        other.Import(Q, openssl["erin.p12"]);
        foreach (var file in Directory.GetFiles(other.PathOf("smime")))
        {
            File.Copy(file, store.PathOf("smime", Path.GetFileName(file)));
        }

        var error = Assert.Throws<KeyStoreException>(host.ReloadAndUnlockAll);

        Assert.Contains("is not this store's", error.Message, StringComparison.Ordinal);
        Assert.Same(before, host.Entries);
        Assert.Empty(host.FindSmime("erin@example.org"));
        Assert.NotNull(host.FindSmime("alice@example.org", KeyUsages.Encrypt, needPrivateKey: true));
    }

    [Fact]
    public void Private_keys_appearing_in_a_store_opened_without_a_passphrase_are_refused()
    {
        using var store = new TestStore();
        store.Import(openssl["ca.crt"]);
        var host = store.Open(passphrase: null);
        Assert.Equal(0, host.UnlockAll());

        store.Open().Import([openssl["alice.p12"]], Q);
        var error = Assert.Throws<KeyStoreException>(host.ReloadAndUnlockAll);

        Assert.Contains("no passphrase was given", error.Message, StringComparison.Ordinal);
        Assert.Empty(host.FindSmime("alice@example.org"));
        Assert.Single(host.Entries);
    }

    [Fact]
    public void A_folder_that_lost_its_marker_is_refused_and_not_read_as_an_empty_store()
    {
        using var store = new TestStore();
        store.Import(Q, openssl["alice.p12"]);
        var host = store.Open();
        host.UnlockAll();

        File.Delete(store.PathOf(KeyStoreFolder.MarkerFile));
        var error = Assert.Throws<KeyStoreException>(host.ReloadAndUnlockAll);

        Assert.Contains("not a RuleMail key store", error.Message, StringComparison.Ordinal);
        Assert.NotNull(host.FindSmime("alice@example.org", KeyUsages.Sign, needPrivateKey: true));
    }

    [Fact]
    public void A_signer_chain_found_before_a_reload_is_built_again_after_it()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var security = new IncomingSecurity(store.Store);
        var message = IncomingMail.WithHeaders(mail.SmimeSign(IncomingMail.TextEntity("Reset my password.\n"), SmimeMail.Sam), "sam@example.com", MailboxStore.Account);
        SecurityAssert.Signed(security.Inspect(new MemoryStream(message)).Security, SecurityResult.SmimeType);

        // The intermediate goes; the message does not carry it, so the chain held a moment ago no longer exists.
        var inter = store.Store.Certificates.Single(c => c.Subject.Contains("Intermediate", StringComparison.Ordinal));
        KeyStore.Open(store.Store.Directory, new KeyStoreOptions { Time = store.Time }).Remove(inter.Fingerprint);
        store.Store.ReloadAndUnlockAll();

        SecurityAssert.SignFailed(security.Inspect(new MemoryStream(message)).Security, SecurityResult.SmimeType, SecurityComments.CertificateNotFound);
    }

    private static string Described(KeyEntry entry) => entry.Kind == KeyKind.Pgp
        ? $"OpenPGP {string.Join(", ", entry.Addresses)}, OpenPGP fingerprint {entry.Fingerprint}"
        : $"S/MIME {string.Join(", ", entry.Addresses)}, SHA-256 fingerprint {entry.Fingerprint}";
}
