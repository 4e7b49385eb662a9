using RuleMail.Core.Tests.Support;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Keys;

/// <summary>Validity over time, on a fake clock: valid, expired, not yet valid, revoked.</summary>
public sealed class StatusTests(CertificateAuthority ca, GpgKeys gpg)
    : IClassFixture<CertificateAuthority>, IClassFixture<GpgKeys>
{
    [Fact]
    public void A_certificate_within_its_dates_is_valid()
    {
        using var store = new TestStore();
        var now = store.Time.GetUtcNow();
        store.Import(CertificateAuthority.Pem("pia.crt", ca.Issue("CN=Pia", now.AddDays(-1), now.AddDays(1), ["pia@example.org"])));

        var entry = Assert.Single(store.Store.Certificates);

        Assert.Equal(KeyStatus.Valid, entry.StatusAt(now));
        Assert.NotNull(store.Store.FindSmime("pia@example.org", KeyUsages.Encrypt));
    }

    [Fact]
    public void A_certificate_whose_notBefore_is_in_the_future_is_not_yet_valid_until_that_moment()
    {
        using var store = new TestStore();
        var now = store.Time.GetUtcNow();
        store.Import(CertificateAuthority.Pem("quinn.crt", ca.Issue("CN=Quinn", now.AddDays(10), now.AddDays(40), ["quinn@example.org"])));
        var entry = Assert.Single(store.Store.Certificates);

        Assert.Equal(KeyStatus.NotYetValid, entry.StatusAt(store.Time.GetUtcNow()));
        Assert.Equal(KeyUsages.None, entry.UsagesAt(store.Time.GetUtcNow()));
        Assert.Null(store.Store.FindSmime("quinn@example.org", KeyUsages.Sign));
        Assert.Single(store.Store.FindSmime("quinn@example.org"));

        store.Time.Advance(TimeSpan.FromDays(10) + TimeSpan.FromMinutes(1));

        Assert.Equal(KeyStatus.Valid, entry.StatusAt(store.Time.GetUtcNow()));
        Assert.NotNull(store.Store.FindSmime("quinn@example.org", KeyUsages.Sign));
    }

    [Fact]
    public void A_certificate_past_its_notAfter_is_expired_and_no_longer_offered()
    {
        using var store = new TestStore();
        var now = store.Time.GetUtcNow();
        store.Import(CertificateAuthority.Pem("rosa.crt", ca.Issue("CN=Rosa", now.AddDays(-30), now.AddDays(5), ["rosa@example.org"])));
        Assert.NotNull(store.Store.FindSmime("rosa@example.org", KeyUsages.Encrypt));

        store.Time.Advance(TimeSpan.FromDays(5) + TimeSpan.FromMinutes(1));

        var entry = Assert.Single(store.Store.FindSmime("rosa@example.org"));
        Assert.Equal(KeyStatus.Expired, entry.StatusAt(store.Time.GetUtcNow()));
        Assert.Null(store.Store.FindSmime("rosa@example.org", KeyUsages.Encrypt));
    }

    [Fact]
    public void A_certificate_listed_in_its_CAs_CRL_is_revoked()
    {
        using var store = new TestStore();
        var now = store.Time.GetUtcNow();
        var revoked = ca.Issue("CN=Sam", now.AddDays(-30), now.AddDays(30), ["sam@example.org"]);
        var kept = ca.Issue("CN=Tess", now.AddDays(-30), now.AddDays(30), ["tess@example.org"]);
        store.Import(ca.CaFile, CertificateAuthority.Pem("sam.crt", revoked), CertificateAuthority.Pem("tess.crt", kept));

        store.Import(new ImportFile("ca.crl", ca.Crl(now.AddMinutes(-1), (revoked, now.AddHours(-2)))));

        var sam = Assert.Single(store.Store.FindSmime("sam@example.org"));
        Assert.Equal(KeyStatus.Revoked, sam.StatusAt(now));
        Assert.Equal(now.AddHours(-2).ToUnixTimeSeconds(), sam.RevokedAt?.ToUnixTimeSeconds());
        Assert.Null(store.Store.FindSmime("sam@example.org", KeyUsages.Sign));
        Assert.NotNull(store.Store.FindSmime("tess@example.org", KeyUsages.Sign));
        Assert.Equal(KeyStatus.Revoked, Assert.Single(store.Open().FindSmime("sam@example.org")).StatusAt(now));
    }

    [Fact]
    public void A_revocation_applies_from_its_date_on()
    {
        using var store = new TestStore();
        var now = store.Time.GetUtcNow();
        var certificate = ca.Issue("CN=Uri", now.AddDays(-30), now.AddDays(30), ["uri@example.org"]);
        store.Import(ca.CaFile, CertificateAuthority.Pem("uri.crt", certificate), new ImportFile("ca.crl", ca.Crl(now.AddMinutes(-1), (certificate, now.AddDays(2)))));
        var entry = Assert.Single(store.Store.FindSmime("uri@example.org"));

        Assert.Equal(KeyStatus.Valid, entry.StatusAt(store.Time.GetUtcNow()));

        store.Time.Advance(TimeSpan.FromDays(3));

        Assert.Equal(KeyStatus.Revoked, entry.StatusAt(store.Time.GetUtcNow()));
        Assert.Null(store.Store.FindSmime("uri@example.org", KeyUsages.Encrypt));
    }

    [Fact]
    public void An_OpenPGP_key_past_its_expiry_is_expired_and_no_longer_offered()
    {
        using var store = new TestStore();
        store.Import(gpg["rita.pub.asc"]);
        Assert.NotNull(store.Store.FindPgp("rita@example.org", KeyUsages.Encrypt));

        store.Time.Advance(TimeSpan.FromDays(2 * 366));

        var entry = Assert.Single(store.Store.FindPgp("rita@example.org"));
        Assert.Equal(KeyStatus.Expired, entry.StatusAt(store.Time.GetUtcNow()));
        Assert.Equal(KeyUsages.None, entry.UsagesAt(store.Time.GetUtcNow()));
        Assert.Null(store.Store.FindPgp("rita@example.org", KeyUsages.Encrypt));
        Assert.Null(store.Store.FindPgp("rita@example.org", KeyUsages.Sign));
    }

    [Fact]
    public void An_expired_encryption_subkey_leaves_a_valid_key_that_can_only_sign()
    {
        using var store = new TestStore();
        store.Import(gpg["edna.pub.asc"]);

        store.Time.Advance(TimeSpan.FromDays(367));

        var entry = Assert.Single(store.Store.FindPgp("edna@example.org"));
        var now = store.Time.GetUtcNow();
        Assert.Equal(KeyStatus.Valid, entry.StatusAt(now));
        Assert.Equal(KeyUsages.Sign, entry.UsagesAt(now));
        Assert.Null(store.Store.FindPgp("edna@example.org", KeyUsages.Encrypt));
        Assert.NotNull(store.Store.FindPgp("edna@example.org", KeyUsages.Sign));
    }

    [Fact]
    public void An_OpenPGP_key_whose_expiry_was_extended_stays_valid_after_the_old_date()
    {
        using var store = new TestStore();
        store.Import(gpg["kai.pub.asc"]);

        var imported = store.Import(gpg["kai.extended.pub.asc"]);
        store.Time.Advance(TimeSpan.FromDays(400));

        Assert.Equal(ImportChange.Updated, Assert.Single(imported).Change);
        var entry = Assert.Single(store.Store.FindPgp("kai@example.org"));
        Assert.Equal(KeyStatus.Valid, entry.StatusAt(store.Time.GetUtcNow()));
        Assert.NotNull(store.Store.FindPgp("kai@example.org", KeyUsages.Encrypt));
        Assert.NotNull(store.Store.FindPgp("kai@example.org", KeyUsages.Sign));
    }

    [Fact]
    public void An_OpenPGP_key_past_its_first_expiry_is_expired_until_the_extension_is_imported()
    {
        using var store = new TestStore();
        store.Import(gpg["kai.pub.asc"]);
        store.Time.Advance(TimeSpan.FromDays(400));
        Assert.Equal(KeyStatus.Expired, Assert.Single(store.Store.PgpKeys).StatusAt(store.Time.GetUtcNow()));

        store.Import(gpg["kai.extended.pub.asc"]);

        Assert.Equal(KeyStatus.Valid, Assert.Single(store.Store.PgpKeys).StatusAt(store.Time.GetUtcNow()));
    }

    [Fact]
    public void A_revoked_OpenPGP_key_is_listed_as_revoked_but_never_offered()
    {
        using var store = new TestStore();
        store.Import(gpg["rex.pub.asc"], gpg["rex.rev.asc"]);

        var entry = Assert.Single(store.Store.FindPgp("rex@example.org"));

        Assert.Equal(KeyStatus.Revoked, entry.StatusAt(store.Time.GetUtcNow()));
        Assert.NotNull(entry.RevokedAt);
        Assert.Null(store.Store.FindPgp("rex@example.org", KeyUsages.Sign));
        Assert.Null(store.Store.FindPgp("rex@example.org", KeyUsages.Encrypt));
    }
}
