using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RuleMail.Core.Tests.Support;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Keys;

/// <summary>Every S/MIME format the store reads, made by the real openssl.</summary>
public sealed class SmimeImportTests(OpenSslKeys keys) : IClassFixture<OpenSslKeys>
{
    private const string Q = OpenSslKeys.FilePassphrase;

    [Theory]
    [InlineData("alice.crt")]
    [InlineData("alice.der")]
    [InlineData("alice.trusted.pem")]
    public void A_certificate_in_PEM_DER_or_TRUSTED_CERTIFICATE_form_is_imported_with_both_of_its_addresses(string file)
    {
        using var store = new TestStore();

        var imported = store.Import(keys[file]);

        var only = Assert.Single(imported);
        Assert.Equal(ImportChange.Added, only.Change);
        Assert.Equal(file, only.Source);
        var entry = Assert.IsType<SmimeCertificateEntry>(only.Entry);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(keys.Bytes("alice.der"))), entry.Fingerprint);
        Assert.Equal(["alice@example.org", "alice.second@example.org"], entry.Addresses);
        Assert.False(entry.HasPrivateKey);
        Assert.False(entry.IsTrustAnchor);
        Assert.Equal(KeyUsages.Sign | KeyUsages.Encrypt, entry.Usages);
        Assert.True(File.Exists(store.PathOf("smime", entry.Fingerprint + ".crt")));
    }

    [Theory]
    [InlineData("alice.crt", "alice.rsa.pem", null)]
    [InlineData("alice.crt", "alice.pkcs8.pem", null)]
    [InlineData("alice.crt", "alice.pkcs8.enc.pem", Q)]
    [InlineData("alice.crt", "alice.legacy.pem", Q)]
    [InlineData("alice.combined.pem", null, null)]
    [InlineData("alice.p12", null, Q)]
    [InlineData("alice.legacy.p12", null, Q)]
    [InlineData("alice.rsa.pem", "alice.der", null)]
    [InlineData("erin.crt", "erin.ecparam.pem", null)]
    [InlineData("erin.crt", "erin.ec.pem", null)]
    [InlineData("erin.crt", "erin.pkcs8.pem", null)]
    [InlineData("erin.p12", null, Q)]
    public void A_certificate_with_its_private_key_in_any_format_yields_a_usable_private_key(string first, string? second, string? filePassphrase)
    {
        using var store = new TestStore();
        ImportFile[] files = second is null ? [keys[first]] : [keys[first], keys[second]];

        var imported = store.Store.Import(files, filePassphrase);

        var entry = Assert.IsType<SmimeCertificateEntry>(Assert.Single(imported).Entry);
        Assert.Equal(ImportChange.Added, imported[0].Change);
        Assert.True(entry.HasPrivateKey);
        var owner = first.StartsWith("erin", StringComparison.Ordinal) ? "erin" : "alice";
        Assert.Equal(owner + "@example.org", entry.Addresses[0]);
        using var original = X509CertificateLoader.LoadCertificate(Der(owner));
        using var withKey = store.Store.OpenPrivateKey(entry);
        Assert.True(SignsForCertificate(withKey, original), "the opened private key does not match the certificate");
    }

    [Fact]
    public void A_private_key_imported_after_its_certificate_joins_it()
    {
        using var store = new TestStore();
        store.Import(keys["alice.crt"]);

        var imported = store.Import(keys["alice.pkcs8.pem"]);

        Assert.Equal(ImportChange.Updated, Assert.Single(imported).Change);
        var entry = Assert.Single(store.Store.Certificates);
        Assert.True(entry.HasPrivateKey);
        Assert.NotNull(store.Store.FindSmime("alice@example.org", KeyUsages.Sign, needPrivateKey: true));
    }

    [Fact]
    public void The_private_key_is_usable_from_a_store_opened_later_on_the_same_folder()
    {
        using var store = new TestStore();
        store.Import(Q, keys["alice.p12"]);

        var reopened = store.Open();

        var entry = Assert.Single(reopened.Certificates);
        Assert.True(entry.HasPrivateKey);
        using var original = X509CertificateLoader.LoadCertificate(Der("alice"));
        using var withKey = reopened.OpenPrivateKey(entry);
        Assert.True(SignsForCertificate(withKey, original));
    }

    [Fact]
    public void A_PEM_file_with_a_byte_order_mark_and_CRLF_line_ends_is_read()
    {
        using var store = new TestStore();
        var text = System.Text.Encoding.ASCII.GetString(keys.Bytes("alice.combined.pem")).Replace("\n", "\r\n", StringComparison.Ordinal);
        var content = System.Text.Encoding.UTF8.GetPreamble().Concat(System.Text.Encoding.ASCII.GetBytes(text)).ToArray();

        var imported = store.Import(new ImportFile("alice-windows.pem", content));

        Assert.True(Assert.Single(imported).Entry.HasPrivateKey);
    }

    [Fact]
    public void A_PKCS7_bundle_imports_every_certificate_in_it()
    {
        using var store = new TestStore();

        var imported = store.Import(keys["bundle.p7b"]);

        Assert.Equal(2, imported.Count);
        Assert.Single(store.Store.FindSmime("alice@example.org"));
        Assert.Single(store.Store.TrustAnchors);
    }

    [Fact]
    public void A_CA_certificate_is_imported_as_a_trust_anchor()
    {
        using var store = new TestStore();

        var imported = store.Import(keys["ca.crt"]);

        var entry = Assert.IsType<SmimeCertificateEntry>(Assert.Single(imported).Entry);
        Assert.True(entry.IsCertificateAuthority);
        Assert.True(entry.IsTrustAnchor);
        Assert.Empty(entry.Addresses);
        Assert.Equal(entry.Fingerprint, Assert.Single(store.Store.TrustAnchors).Fingerprint);
    }

    [Theory]
    [InlineData("crl.pem")]
    [InlineData("crl.der")]
    public void A_CRL_in_PEM_or_DER_form_revokes_the_certificates_it_lists_and_no_others(string crl)
    {
        using var store = new TestStore();
        store.Import(keys["ca.crt"], keys["alice.crt"], keys["bob.crt"]);

        var imported = store.Import(keys[crl]);

        var crlEntry = Assert.IsType<CrlEntry>(Assert.Single(imported).Entry);
        Assert.Equal(ImportChange.Added, imported[0].Change);
        Assert.Equal(1, crlEntry.RevokedCount);
        var now = store.Time.GetUtcNow();
        var bob = Assert.Single(store.Store.FindSmime("bob@example.org"));
        Assert.Equal(KeyStatus.Revoked, bob.StatusAt(now));
        Assert.Null(store.Store.FindSmime("bob@example.org", KeyUsages.Encrypt));
        var alice = Assert.Single(store.Store.FindSmime("alice@example.org"));
        Assert.Equal(KeyStatus.Valid, alice.StatusAt(now));
    }

    [Fact]
    public void A_CRL_imported_with_its_CA_in_the_same_import_is_accepted()
    {
        using var store = new TestStore();

        var imported = store.Import(keys["bob.crt"], keys["crl.der"], keys["ca.crt"]);

        Assert.Equal(3, imported.Count);
        Assert.All(imported, i => Assert.Equal(ImportChange.Added, i.Change));
        Assert.Equal(KeyStatus.Revoked, Assert.Single(store.Store.FindSmime("bob@example.org")).StatusAt(store.Time.GetUtcNow()));
    }

    [Fact]
    public void Usages_follow_keyUsage_for_RSA_EC_and_signature_only_certificates()
    {
        using var store = new TestStore();

        store.Import(keys["alice.crt"], keys["erin.crt"], keys["frank.crt"]);

        Assert.Equal(KeyUsages.Sign | KeyUsages.Encrypt, Assert.Single(store.Store.FindSmime("alice@example.org")).Usages);
        Assert.Equal(KeyUsages.Sign | KeyUsages.Encrypt, Assert.Single(store.Store.FindSmime("erin@example.org")).Usages);
        Assert.Equal(KeyUsages.Sign, Assert.Single(store.Store.FindSmime("frank@example.org")).Usages);
        Assert.Null(store.Store.FindSmime("frank@example.org", KeyUsages.Encrypt));
    }

    private byte[] Der(string owner) =>
        owner == "alice" ? keys.Bytes("alice.der") : X509CertificateLoader.LoadCertificate(keys.Bytes(owner + ".crt")).RawData;

    private static bool SignsForCertificate(X509Certificate2 withKey, X509Certificate2 original)
    {
        var data = "RuleMail signs this"u8.ToArray();
        Assert.True(withKey.HasPrivateKey);
        Assert.Equal(original.RawData, withKey.RawData);
        if (withKey.GetRSAPrivateKey() is { } rsa)
        {
            using (rsa)
            {
                using var publicKey = original.GetRSAPublicKey()!;
                var signature = rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
                return publicKey.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            }
        }

        using var ec = withKey.GetECDsaPrivateKey()!;
        using var ecPublic = original.GetECDsaPublicKey()!;
        return ecPublic.VerifyData(data, ec.SignData(data, HashAlgorithmName.SHA256), HashAlgorithmName.SHA256);
    }
}
