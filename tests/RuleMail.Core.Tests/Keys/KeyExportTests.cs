using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Bcpg.OpenPgp;
using RuleMail.Core.Tests.Json;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Keys;

/// <summary>The public part of an entry, as a file others import: the bytes the store keeps, and nothing private beside them.</summary>
public sealed class KeyExportTests
{
    private static readonly KeyStore Sample = ContractJsonGoldenTests.SampleStore();

    [Fact]
    public void Every_entry_of_the_sample_exports_to_the_public_file_the_store_keeps_for_it()
    {
        foreach (var entry in Sample.Entries)
        {
            var (exported, stored) = entry switch
            {
                SmimeCertificateEntry certificate => (KeyExport.Pem(certificate), Path.Combine("smime", entry.Fingerprint + ".crt")),
                PgpKeyEntry key => (KeyExport.Armored(key), Path.Combine("pgp", entry.Fingerprint + ".pub.asc")),
                CrlEntry crl => (KeyExport.Pem(crl), Path.Combine("crl", entry.Fingerprint + ".crl")),
                _ => throw new InvalidOperationException(entry.GetType().Name),
            };

            Assert.Equal(File.ReadAllBytes(Path.Combine(Sample.Directory, stored)), exported);
        }
    }

    [Fact]
    public void An_entry_held_with_its_private_key_exports_without_it()
    {
        var certificate = Sample.FindSmime("support@rulemail.test", KeyUsages.Sign, needPrivateKey: true)!;
        var key = Sample.FindPgp("support@rulemail.test", KeyUsages.Sign, needPrivateKey: true)!;

        var pem = KeyExport.Pem(certificate);
        var armored = KeyExport.Armored(key);

        using var loaded = X509CertificateLoader.LoadCertificate(pem);
        Assert.False(loaded.HasPrivateKey);
        Assert.DoesNotContain("PRIVATE", System.Text.Encoding.ASCII.GetString(pem), StringComparison.Ordinal);
        var objects = new PgpObjectFactory(PgpUtilities.GetDecoderStream(new MemoryStream(armored))).AllPgpObjects();
        Assert.IsType<PgpPublicKeyRing>(Assert.Single(objects));
        Assert.StartsWith("-----BEGIN PGP PUBLIC KEY BLOCK-----", System.Text.Encoding.ASCII.GetString(armored), StringComparison.Ordinal);
    }
}
