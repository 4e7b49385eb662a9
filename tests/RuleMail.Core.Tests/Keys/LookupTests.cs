using System.Security.Cryptography.X509Certificates;
using RuleMail.Core.Tests.Support;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Keys;

/// <summary>Which certificate or key serves an address.</summary>
public sealed class LookupTests(CertificateAuthority ca, OpenSslKeys openssl, GpgKeys gpg)
    : IClassFixture<CertificateAuthority>, IClassFixture<OpenSslKeys>, IClassFixture<GpgKeys>
{
    [Theory]
    [InlineData("grace.hopper@example.org")]
    [InlineData("GRACE.HOPPER@EXAMPLE.ORG")]
    [InlineData("  Grace.Hopper@Example.Org ")]
    [InlineData("Grace Hopper <grace.hopper@EXAMPLE.org>")]
    public void FindSmime_ignores_case_and_accepts_a_display_name(string query)
    {
        using var store = new TestStore();
        var now = store.Time.GetUtcNow();
        store.Import(CertificateAuthority.Pem("grace.crt", ca.Issue("CN=Grace Hopper", now.AddDays(-1), now.AddDays(30), ["Grace.Hopper@Example.ORG"])));

        var found = store.Store.FindSmime(query, KeyUsages.Encrypt);

        Assert.NotNull(found);
        Assert.Equal(["grace.hopper@example.org"], found.Addresses);
    }

    [Theory]
    [InlineData("rita@example.org")]
    [InlineData("RITA@Example.ORG")]
    [InlineData("Rita <Rita@example.org>")]
    public void FindPgp_ignores_case_and_accepts_a_display_name(string query)
    {
        using var store = new TestStore();
        store.Import(gpg["rita.pub.asc"]);

        Assert.Equal(gpg.Fingerprint("rita"), store.Store.FindPgp(query, KeyUsages.Encrypt)?.Fingerprint);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("not an address")]
    [InlineData("nobody@example.org")]
    public void Lookups_of_unknown_or_malformed_addresses_find_nothing(string query)
    {
        using var store = new TestStore();
        store.Import(openssl["alice.crt"], gpg["rita.pub.asc"]);

        Assert.Empty(store.Store.FindSmime(query));
        Assert.Null(store.Store.FindSmime(query, KeyUsages.Sign));
        Assert.Empty(store.Store.FindPgp(query));
        Assert.Null(store.Store.FindPgp(query, KeyUsages.Sign));
    }

    [Fact]
    public void A_certificate_with_two_subjectAltName_addresses_serves_both()
    {
        using var store = new TestStore();
        store.Import(openssl["alice.crt"]);

        var first = store.Store.FindSmime("alice@example.org", KeyUsages.Encrypt);
        var second = store.Store.FindSmime("alice.second@example.org", KeyUsages.Encrypt);

        Assert.NotNull(first);
        Assert.Same(first, second);
    }

    [Fact]
    public void Without_subjectAltName_addresses_the_subject_emailAddress_is_used()
    {
        using var store = new TestStore();
        store.Import(openssl["frank.crt"]);

        var found = store.Store.FindSmime("frank@example.org", KeyUsages.Sign);

        Assert.NotNull(found);
        Assert.Equal(["frank@example.org"], found.Addresses);
    }

    [Fact]
    public void With_subjectAltName_addresses_the_subject_emailAddress_is_not_used()
    {
        using var store = new TestStore();
        var now = store.Time.GetUtcNow();
        store.Import(CertificateAuthority.Pem("both.crt", ca.Issue("E=subject@example.org, CN=Both", now.AddDays(-1), now.AddDays(30), ["san@example.org"])));

        Assert.NotNull(store.Store.FindSmime("san@example.org", KeyUsages.Sign));
        Assert.Empty(store.Store.FindSmime("subject@example.org"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void An_old_expired_certificate_does_not_block_a_new_valid_one(bool oldFirst)
    {
        using var store = new TestStore();
        var now = store.Time.GetUtcNow();
        var old = ca.Issue("CN=Henry Old", now.AddYears(-3), now.AddYears(-1), ["henry@example.org"]);
        var current = ca.Issue("CN=Henry New", now.AddDays(-10), now.AddYears(1), ["henry@example.org"]);
        ImportFile[] files = [CertificateAuthority.Pem("old.crt", old), CertificateAuthority.Pem("new.crt", current)];
        foreach (var file in oldFirst ? files : files.Reverse())
        {
            store.Import(file);
        }

        var forEncryption = store.Store.FindSmime("henry@example.org", KeyUsages.Encrypt);
        var all = store.Store.FindSmime("henry@example.org");

        Assert.Equal(Thumbprint(current), forEncryption?.Fingerprint);
        Assert.Equal([Thumbprint(current), Thumbprint(old)], all.Select(c => c.Fingerprint));
        Assert.Equal(KeyStatus.Expired, all[1].StatusAt(now));
    }

    [Fact]
    public void A_private_key_serves_every_certificate_issued_for_it()
    {
        // A renewal that keeps the key: the old and the new certificate share it.
        using var store = new TestStore();
        var now = store.Time.GetUtcNow();
        var old = ca.Issue("CN=Lena Old", now.AddYears(-2), now.AddDays(-1), ["lena@example.org"]);
        var renewed = ca.Issue("CN=Lena Renewed", now.AddDays(-1), now.AddYears(1), ["lena@example.org"]);
        var key = new ImportFile("lena.key", System.Text.Encoding.ASCII.GetBytes(ca.LeafKey.ExportPkcs8PrivateKeyPem()));

        store.Import(CertificateAuthority.Pem("old.crt", old), CertificateAuthority.Pem("renewed.crt", renewed), key);

        Assert.All(store.Store.FindSmime("lena@example.org"), c => Assert.True(c.HasPrivateKey));
        Assert.Equal(Thumbprint(renewed), store.Store.FindSmime("lena@example.org", KeyUsages.Sign, needPrivateKey: true)?.Fingerprint);
    }

    [Fact]
    public void Of_two_valid_certificates_the_newer_one_is_chosen()
    {
        using var store = new TestStore();
        var now = store.Time.GetUtcNow();
        var older = ca.Issue("CN=Ivy Older", now.AddDays(-100), now.AddYears(1), ["ivy@example.org"]);
        var newer = ca.Issue("CN=Ivy Newer", now.AddDays(-1), now.AddYears(1), ["ivy@example.org"]);

        store.Import(CertificateAuthority.Pem("newer.crt", newer), CertificateAuthority.Pem("older.crt", older));

        Assert.Equal(Thumbprint(newer), store.Store.FindSmime("ivy@example.org", KeyUsages.Sign)?.Fingerprint);
    }

    [Fact]
    public void A_newer_certificate_that_cannot_encrypt_does_not_hide_an_older_one_that_can()
    {
        using var store = new TestStore();
        var now = store.Time.GetUtcNow();
        var encrypting = ca.Issue("CN=Jack Encrypt", now.AddDays(-100), now.AddYears(1), ["jack@example.org"]);
        var signing = ca.Issue("CN=Jack Sign", now.AddDays(-1), now.AddYears(1), ["jack@example.org"], X509KeyUsageFlags.DigitalSignature);

        store.Import(CertificateAuthority.Pem("encrypt.crt", encrypting), CertificateAuthority.Pem("sign.crt", signing));

        Assert.Equal(Thumbprint(encrypting), store.Store.FindSmime("jack@example.org", KeyUsages.Encrypt)?.Fingerprint);
        Assert.Equal(Thumbprint(signing), store.Store.FindSmime("jack@example.org", KeyUsages.Sign)?.Fingerprint);
    }

    [Fact]
    public void A_certificate_without_its_private_key_is_not_offered_when_a_private_key_is_needed()
    {
        using var store = new TestStore();
        store.Import(openssl["alice.crt"]);

        Assert.NotNull(store.Store.FindSmime("alice@example.org", KeyUsages.Sign));
        Assert.Null(store.Store.FindSmime("alice@example.org", KeyUsages.Sign, needPrivateKey: true));
    }

    [Fact]
    public void A_public_only_OpenPGP_key_is_not_offered_when_a_secret_key_is_needed()
    {
        using var store = new TestStore();
        store.Import(gpg["edna.pub.asc"]);

        Assert.NotNull(store.Store.FindPgp("edna@example.org", KeyUsages.Sign));
        Assert.Null(store.Store.FindPgp("edna@example.org", KeyUsages.Sign, needPrivateKey: true));
    }

    private static string Thumbprint(X509Certificate2 certificate) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(certificate.RawData));
}
