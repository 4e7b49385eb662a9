using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Security;

namespace RuleMail.Benchmarks.KeyStores;

/// <summary>
/// Fills a key store folder with many entries fast, as files in the store's documented layout (an admin restoring a
/// backup does the same): S/MIME certificates of one benchmark CA (ECDSA P-256, every 100th RSA-2048) and OpenPGP
/// RSA-3072 keys with an RSA-3072 encryption subkey. RSA key generation is the slow part (about 1 s per RSA-3072 key
/// on these machines), so the OpenPGP keys share a few RSA key pairs: each key still has its own creation time, so its
/// own fingerprint, user ID and self-signatures, and costs a load the same verification as a key of its own.
/// </summary>
internal static class KeyStoreMaterial
{
    private const int RsaPgpKeyPairs = 8;
    private const int RsaCertificateKeys = 4;

    /// <summary>The address of generated certificate <paramref name="index"/>.</summary>
    public static string SmimeAddress(int index) => $"user{index:D5}@bench.test";

    /// <summary>The address of generated OpenPGP key <paramref name="index"/>.</summary>
    public static string PgpAddress(int index) => $"pgp{index:D4}@bench.test";

    /// <summary>Writes <paramref name="count"/> certificates (and their CA) into <c>smime/</c> of <paramref name="store"/>, the first <paramref name="subsetCount"/> also into <paramref name="subsetStore"/>.</summary>
    public static void WriteCertificates(string store, int count, int subsetCount, string? subsetStore)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=RuleMail Benchmark CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = TimeProvider.System.GetUtcNow();
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddYears(5));
        Write(store, ca);
        if (subsetStore is not null)
        {
            Write(subsetStore, ca);
        }

        var rsaKeys = Enumerable.Range(0, RsaCertificateKeys).Select(_ => RSA.Create(2048)).ToList();
        var generator = X509SignatureGenerator.CreateForECDsa(caKey);
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            using var ec = i % 100 == 99 ? null : ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var rsa = ec is null ? rsaKeys[i % RsaCertificateKeys] : null;
            var subject = $"CN=Benchmark User {i}, O=RuleMail Benchmarks";
            var request = ec is not null
                ? new CertificateRequest(subject, ec, HashAlgorithmName.SHA256)
                : new CertificateRequest(subject, rsa!, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var names = new SubjectAlternativeNameBuilder();
            names.AddEmailAddress(SmimeAddress(i));
            request.CertificateExtensions.Add(names.Build());
            request.CertificateExtensions.Add(new X509KeyUsageExtension(
                X509KeyUsageFlags.DigitalSignature | (ec is null ? X509KeyUsageFlags.KeyEncipherment : X509KeyUsageFlags.KeyAgreement), true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.4")], false));
            var serial = BitConverter.GetBytes(i + 1L).Reverse().ToArray();
            serial[0] = 0x01;
            using var certificate = request.Create(ca.SubjectName, generator, now.AddDays(-1), now.AddYears(2), serial);
            Write(store, certificate);
            if (subsetStore is not null && i < subsetCount)
            {
                Write(subsetStore, certificate);
            }
        });
        rsaKeys.ForEach(k => k.Dispose());
    }

    /// <summary>Writes <paramref name="count"/> OpenPGP public keys into <c>pgp/</c> of <paramref name="store"/> (and the first ones into the subset).</summary>
    public static void WritePgpKeys(string store, int count, int subsetCount, string? subsetStore)
    {
        var pairs = Enumerable.Range(0, Math.Min(RsaPgpKeyPairs, Math.Max(count, 2)))
            .AsParallel().WithDegreeOfParallelism(2)
            .Select(_ =>
            {
                using var rsa = RSA.Create(3072);
                return DotNetUtilities.GetRsaKeyPair(rsa);
            })
            .ToList();
        var random = new SecureRandom();
        var created = TimeProvider.System.GetUtcNow().UtcDateTime.AddDays(-1);
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            var primary = new PgpKeyPair(PublicKeyAlgorithmTag.RsaGeneral, pairs[i % pairs.Count], created.AddSeconds(-i));
            var subkey = new PgpKeyPair(PublicKeyAlgorithmTag.RsaGeneral, pairs[(i + 1) % pairs.Count], created.AddSeconds(-i));
            var flags = new PgpSignatureSubpacketGenerator();
            flags.SetKeyFlags(false, PgpKeyFlags.CanSign | PgpKeyFlags.CanCertify);
            var generator = new PgpKeyRingGenerator(
                PgpSignature.PositiveCertification, primary, $"PGP Benchmark {i} <{PgpAddress(i)}>", SymmetricKeyAlgorithmTag.Aes256,
                "unused".ToCharArray(), true, flags.Generate(), null, random);
            var encryption = new PgpSignatureSubpacketGenerator();
            encryption.SetKeyFlags(false, PgpKeyFlags.CanEncryptCommunications | PgpKeyFlags.CanEncryptStorage);
            generator.AddSubKey(subkey, encryption.Generate(), null);
            var ring = generator.GeneratePublicKeyRing();
            var buffer = new MemoryStream();
            using (var armored = new ArmoredOutputStream(buffer))
            {
                ring.Encode(armored);
            }

            var fingerprint = Convert.ToHexString(ring.GetPublicKey().GetFingerprint());
            WriteFile(store, "pgp", fingerprint + ".pub.asc", buffer.ToArray());
            if (subsetStore is not null && i < subsetCount)
            {
                WriteFile(subsetStore, "pgp", fingerprint + ".pub.asc", buffer.ToArray());
            }
        });
    }

    /// <summary>Copies the key store folder <paramref name="from"/> (files of its sub-folders and the marker).</summary>
    public static void CopyStore(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }

    private static void Write(string store, X509Certificate2 certificate)
    {
        var pem = Encoding.ASCII.GetBytes(PemEncoding.WriteString("CERTIFICATE", certificate.RawData) + "\n");
        WriteFile(store, "smime", certificate.GetCertHashString(HashAlgorithmName.SHA256) + ".crt", pem);
    }

    private static void WriteFile(string store, string folder, string name, byte[] content)
    {
        var directory = Path.Combine(store, folder);
        Directory.CreateDirectory(directory);
        File.WriteAllBytes(Path.Combine(directory, name), content);
    }
}
