using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RuleMail.Core.Tests.Support;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Keys;

/// <summary>What keyUsage and extendedKeyUsage allow a certificate to be used for in mail.</summary>
public sealed class UsageTests(CertificateAuthority ca) : IClassFixture<CertificateAuthority>
{
    public static TheoryData<X509KeyUsageFlags?, KeyUsages> RsaKeyUsages => new()
    {
        { X509KeyUsageFlags.DigitalSignature, KeyUsages.Sign },
        { X509KeyUsageFlags.NonRepudiation, KeyUsages.Sign },
        { X509KeyUsageFlags.KeyEncipherment, KeyUsages.Encrypt },
        { X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, KeyUsages.Sign | KeyUsages.Encrypt },
        { X509KeyUsageFlags.DataEncipherment, KeyUsages.None },
        { X509KeyUsageFlags.KeyAgreement, KeyUsages.None },
        { null, KeyUsages.Sign | KeyUsages.Encrypt },
    };

    public static TheoryData<X509KeyUsageFlags, KeyUsages> EcKeyUsages => new()
    {
        { X509KeyUsageFlags.DigitalSignature, KeyUsages.Sign },
        { X509KeyUsageFlags.KeyAgreement, KeyUsages.Encrypt },
        { X509KeyUsageFlags.KeyEncipherment, KeyUsages.None },
    };

    [Theory]
    [MemberData(nameof(RsaKeyUsages))]
    public void An_RSA_certificate_may_be_used_as_its_keyUsage_says(X509KeyUsageFlags? keyUsage, KeyUsages expected)
    {
        using var store = new TestStore();
        var now = store.Time.GetUtcNow();
        store.Import(CertificateAuthority.Pem("kate.crt", ca.Issue("CN=Kate", now.AddDays(-1), now.AddDays(30), ["kate@example.org"], keyUsage)));

        var entry = Assert.Single(store.Store.Certificates);

        Assert.Equal(expected, entry.Usages);
        Assert.Equal(expected, entry.UsagesAt(now));
        Assert.Equal(expected.HasFlag(KeyUsages.Sign), store.Store.FindSmime("kate@example.org", KeyUsages.Sign) is not null);
        Assert.Equal(expected.HasFlag(KeyUsages.Encrypt), store.Store.FindSmime("kate@example.org", KeyUsages.Encrypt) is not null);
    }

    [Theory]
    [MemberData(nameof(EcKeyUsages))]
    public void An_EC_certificate_encrypts_by_key_agreement_not_key_encipherment(X509KeyUsageFlags keyUsage, KeyUsages expected)
    {
        using var store = new TestStore();
        var now = store.Time.GetUtcNow();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        store.Import(CertificateAuthority.Pem("liam.crt", ca.Issue("CN=Liam", now.AddDays(-1), now.AddDays(30), ["liam@example.org"], keyUsage, key: key)));

        Assert.Equal(expected, Assert.Single(store.Store.Certificates).Usages);
    }

    [Fact]
    public void An_extendedKeyUsage_without_emailProtection_allows_nothing()
    {
        using var store = new TestStore();
        var now = store.Time.GetUtcNow();
        var serverOnly = ca.Issue("CN=Mia", now.AddDays(-1), now.AddDays(30), ["mia@example.org"], extendedKeyUsages: [CertificateAuthority.ServerAuth]);

        store.Import(CertificateAuthority.Pem("mia.crt", serverOnly));

        Assert.Equal(KeyUsages.None, Assert.Single(store.Store.Certificates).Usages);
        Assert.Null(store.Store.FindSmime("mia@example.org", KeyUsages.Sign));
        Assert.Null(store.Store.FindSmime("mia@example.org", KeyUsages.Encrypt));
    }

    [Theory]
    [InlineData(CertificateAuthority.EmailProtection)]
    [InlineData("2.5.29.37.0")]
    public void An_extendedKeyUsage_with_emailProtection_or_any_usage_keeps_the_keyUsage(string extraUsage)
    {
        using var store = new TestStore();
        var now = store.Time.GetUtcNow();
        var certificate = ca.Issue("CN=Noah", now.AddDays(-1), now.AddDays(30), ["noah@example.org"], extendedKeyUsages: [CertificateAuthority.ServerAuth, extraUsage]);

        store.Import(CertificateAuthority.Pem("noah.crt", certificate));

        Assert.Equal(KeyUsages.Sign | KeyUsages.Encrypt, Assert.Single(store.Store.Certificates).Usages);
    }

    [Fact]
    public void A_certificate_without_extendedKeyUsage_keeps_the_keyUsage()
    {
        using var store = new TestStore();
        var now = store.Time.GetUtcNow();

        store.Import(CertificateAuthority.Pem("olga.crt", ca.Issue("CN=Olga", now.AddDays(-1), now.AddDays(30), ["olga@example.org"], extendedKeyUsages: [])));

        Assert.Equal(KeyUsages.Sign | KeyUsages.Encrypt, Assert.Single(store.Store.Certificates).Usages);
    }
}
