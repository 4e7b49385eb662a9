using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Support;

/// <summary>
/// S/MIME material for the incoming-mail interop tests, made by the real openssl at test time, and the
/// openssl that signs and encrypts messages with it. The key material is generated once per test run and
/// kept in memory; each fixture instance writes it into its own working folder for openssl to read.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>root: "RuleMail Interop Root CA" (RSA-2048), the trust anchor. inter: "RuleMail Interop Intermediate CA" (RSA-2048, pathlen 0), issued by root.</item>
/// <item>sam: RSA-2048 from inter, SAN sam@example.com and Sam.Alias@Example.com, signing + key encipherment, emailProtection.</item>
/// <item>eve: EC prime256v1 from inter, SAN eve@example.com, signing + key agreement.</item>
/// <item>support: RSA-2048 from inter, SAN support@rulemail.test: the receiving account (its private key goes into the store).</item>
/// <item>stranger: RSA-2048 from "Stranger Root CA" (EC), which no store ever holds; SAN stranger@example.com.</item>
/// <item>expired / future / revoked / server: RSA certificates from inter made in-process (.NET CertificateRequest) with chosen
///   dates: expired ended yesterday, future starts tomorrow; revoked is listed in inter.crl (revoked an hour ago);
///   server has only the serverAuth extended key usage.</item>
/// <item>forged-inter: a forger's self-signed CA with exactly the intermediate's name; forger: an EC certificate from it
///   for sam@example.com with sam's subject and serial.</item>
/// <item>For the algorithm policy, each from inter and signed by it with SHA-256 unless said: rsa512 (RSA-512, SAN rsa512@example.com),
///   rsa1024 (RSA-1024), p192 (EC prime192v1), dsa1024 (DSA-1024), md5-issued (RSA-2048, its certificate signed by inter with MD5);
///   md5-root: a self-signed root signed with MD5, and md5-root-leaf (RSA-2048, SHA-256) issued by it. Each N has the address N@example.com.</item>
/// </list>
/// Each name N has N.crt and N.key (PEM); inter.crl is a PEM CRL; support.legacy.p12 / sam.legacy.p12 (protected with
/// <see cref="FilePassphrase"/>, legacy algorithms) are what gpgsm 2.2 can read.
/// </remarks>
public sealed class SmimeMail : IDisposable
{
    public const string FilePassphrase = Passphrases.File;

    public const string Sam = "sam";
    public const string Eve = "eve";
    public const string Support = "support";
    public const string Stranger = "stranger";
    public const string Expired = "expired";
    public const string Future = "future";
    public const string Revoked = "revoked";
    public const string Server = "server";
    public const string Forger = "forger";
    public const string Rsa512 = "rsa512";
    public const string Rsa1024 = "rsa1024";
    public const string P192 = "p192";
    public const string Dsa1024 = "dsa1024";
    public const string Md5Issued = "md5-issued";
    public const string Md5RootLeaf = "md5-root-leaf";

    private static readonly Lazy<Material> Generated = new(Generate, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly TempDirectory _work = new("smime-mail");
    private readonly OpenSsl _openSsl;

    public SmimeMail()
    {
        foreach (var (name, content) in Generated.Value.Files)
        {
            File.WriteAllBytes(_work.File(name), content);
        }

        _openSsl = new OpenSsl(_work.Path);
    }

    /// <summary>When the in-process certificates start and end (and when "revoked" was revoked).</summary>
    public static CertificateDates Dates => Generated.Value.Dates;

    public static IReadOnlyDictionary<string, byte[]> Files => Generated.Value.Files;

    /// <summary>A file of the material, to import into a store.</summary>
    public ImportFile this[string name] =>
        Files.TryGetValue(name, out var content) ? new ImportFile(name, content) : throw new KeyNotFoundException($"the S/MIME fixture made no file {name}");

    /// <summary>The certificate and its private key, as an admin imports the account's own key.</summary>
    public ImportFile[] WithPrivateKey(string name) => [this[name + ".crt"], this[name + ".key"]];

    public string Certificate(string name) => _work.File(name + ".crt");

    public string Key(string name) => _work.File(name + ".key");

    public string PathOf(string file) => _work.File(file);

    public static X509Certificate2 LoadCertificate(string name) => X509CertificateLoader.LoadCertificate(Pem.Der(Files[name + ".crt"]));

    /// <summary>
    /// Runs openssl with <paramref name="arguments"/> (a command and its options) plus <c>-in</c> (a file holding
    /// <paramref name="input"/>) and <c>-out</c>, and returns what it wrote.
    /// </summary>
    public byte[] OpenSsl(byte[] input, params string[] arguments)
    {
        var id = Guid.NewGuid().ToString("N");
        var inFile = _work.File("in-" + id);
        var outFile = _work.File("out-" + id);
        File.WriteAllBytes(inFile, input);
        try
        {
            // After the command name: openssl smime takes its recipient certificates last.
            _openSsl.Run([arguments[0], "-in", inFile, "-out", outFile, .. arguments.Skip(1)]);
            return File.ReadAllBytes(outFile);
        }
        finally
        {
            File.Delete(inFile);
            File.Delete(outFile);
        }
    }

    /// <summary><c>openssl smime -sign</c>: multipart/signed with application/x-pkcs7-signature (or opaque with -nodetach).</summary>
    public byte[] SmimeSign(byte[] entity, string signer, params string[] options) =>
        OpenSsl(entity, ["smime", "-sign", "-signer", Certificate(signer), "-inkey", Key(signer), .. options]);

    /// <summary><c>openssl cms -sign</c>: multipart/signed with application/pkcs7-signature (or opaque with -nodetach).</summary>
    public byte[] CmsSign(byte[] entity, string signer, params string[] options) =>
        OpenSsl(entity, ["cms", "-sign", "-signer", Certificate(signer), "-inkey", Key(signer), .. options]);

    /// <summary><c>openssl smime -encrypt -aes256</c>: application/x-pkcs7-mime; smime-type=enveloped-data.</summary>
    public byte[] SmimeEncrypt(byte[] entity, string recipient) =>
        OpenSsl(entity, "smime", "-encrypt", "-aes256", Certificate(recipient));

    /// <summary><c>openssl cms -encrypt</c> with <paramref name="cipher"/> and optional -keyopt values for the recipient.</summary>
    public byte[] CmsEncrypt(byte[] entity, string recipient, string cipher = "-aes256", params string[] keyOptions) =>
        OpenSsl(entity, ["cms", "-encrypt", cipher, "-recip", Certificate(recipient), .. keyOptions.SelectMany(o => new[] { "-keyopt", o })]);

    public void Dispose() => _work.Dispose();

    private static Material Generate()
    {
        using var folder = new TempDirectory("smime-material");
        var openssl = new OpenSsl(folder.Path);

        openssl.Run(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "root.key", "-out", "root.crt", "-days", "3650",
            "-subj", "/O=RuleMail Interop/CN=RuleMail Interop Root CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        openssl.Run("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "inter.key", "-out", "inter.csr",
            "-subj", "/O=RuleMail Interop/CN=RuleMail Interop Intermediate CA");
        openssl.Write("inter.ext", "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n" +
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
        openssl.Run("x509", "-req", "-in", "inter.csr", "-CA", "root.crt", "-CAkey", "root.key", "-set_serial", "0x2001",
            "-days", "3650", "-sha256", "-extfile", "inter.ext", "-out", "inter.crt");

        openssl.Run("genrsa", "-out", "sam.key", "2048");
        Issue(openssl, "sam", "inter", "0x3001", "/CN=Sam Sender", "email:sam@example.com,email:Sam.Alias@Example.com", "digitalSignature,keyEncipherment");
        openssl.Run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "eve.ec.pem");
        openssl.Run("pkcs8", "-topk8", "-nocrypt", "-in", "eve.ec.pem", "-out", "eve.key");
        Issue(openssl, "eve", "inter", "0x3002", "/CN=Eve Elliptic", "email:eve@example.com", "digitalSignature,keyAgreement");
        openssl.Run("genrsa", "-out", "support.key", "2048");
        Issue(openssl, "support", "inter", "0x3003", "/CN=RuleMail Support", "email:support@rulemail.test", "digitalSignature,keyEncipherment");

        openssl.Run(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "stranger-root.key",
            "-out", "stranger-root.crt", "-days", "3650", "-subj", "/CN=Stranger Root CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        openssl.Run("genrsa", "-out", "stranger.key", "2048");
        Issue(openssl, "stranger", "stranger-root", "0x4001", "/CN=Stranger", "email:stranger@example.com", "digitalSignature,keyEncipherment");

        // A forger's CA that copies the intermediate's name exactly, and a certificate for sam's address from it.
        openssl.Run(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "forged-inter.key",
            "-out", "forged-inter.crt", "-days", "3650", "-subj", "/O=RuleMail Interop/CN=RuleMail Interop Intermediate CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        openssl.Run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "forger.ec.pem");
        openssl.Run("pkcs8", "-topk8", "-nocrypt", "-in", "forger.ec.pem", "-out", "forger.key");
        // No authority key identifier: only the issuer's name points to a CA, and that name is the real intermediate's.
        Issue(openssl, "forger", "forged-inter", "0x3001", "/CN=Sam Sender", "email:sam@example.com", "digitalSignature", authorityKeyId: false);

        // Signers the algorithm policy refuses, and certificate paths with MD5 links.
        openssl.Run("genrsa", "-out", "rsa512.key", "512");
        Issue(openssl, Rsa512, "inter", "0x6001", "/CN=Weak RSA-512", "email:rsa512@example.com", "digitalSignature,keyEncipherment");
        openssl.Run("genrsa", "-out", "rsa1024.key", "1024");
        Issue(openssl, Rsa1024, "inter", "0x6002", "/CN=Weak RSA-1024", "email:rsa1024@example.com", "digitalSignature,keyEncipherment");
        openssl.Run("ecparam", "-name", "prime192v1", "-genkey", "-noout", "-out", "p192.ec.pem");
        openssl.Run("pkcs8", "-topk8", "-nocrypt", "-in", "p192.ec.pem", "-out", "p192.key");
        Issue(openssl, P192, "inter", "0x6003", "/CN=Weak P-192", "email:p192@example.com", "digitalSignature");
        openssl.Run("dsaparam", "-genkey", "-out", "dsa1024.params.pem", "1024");
        openssl.Run("pkcs8", "-topk8", "-nocrypt", "-in", "dsa1024.params.pem", "-out", "dsa1024.key");
        Issue(openssl, Dsa1024, "inter", "0x6004", "/CN=Weak DSA-1024", "email:dsa1024@example.com", "digitalSignature");
        openssl.Run("genrsa", "-out", "md5-issued.key", "2048");
        Issue(openssl, Md5Issued, "inter", "0x6005", "/CN=MD5 Issued", "email:md5-issued@example.com", "digitalSignature,keyEncipherment", digest: "-md5");
        openssl.Run(
            "req", "-x509", "-md5", "-newkey", "rsa:2048", "-nodes", "-keyout", "md5-root.key", "-out", "md5-root.crt", "-days", "3650",
            "-subj", "/O=RuleMail Interop/CN=MD5 Self-Signed Root CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        File.Copy(folder.File("sam.key"), folder.File("md5-root-leaf.key"));
        Issue(openssl, Md5RootLeaf, "md5-root", "0x6006", "/CN=MD5 Root Leaf", "email:md5-root-leaf@example.com", "digitalSignature,keyEncipherment");

        var passphrase = new Dictionary<string, string> { ["RULEMAIL_TEST_FILE_PASSPHRASE"] = FilePassphrase };
        foreach (var name in new[] { "support", "sam" })
        {
            openssl.Run(passphrase, "pkcs12", "-export", "-legacy", "-in", name + ".crt", "-inkey", name + ".key",
                "-passout", "env:RULEMAIL_TEST_FILE_PASSPHRASE", "-out", name + ".legacy.p12");
        }

        var dates = IssueInProcess(folder);
        var files = Directory.EnumerateFiles(folder.Path)
            .Where(f => !f.EndsWith(".csr", StringComparison.Ordinal) && !f.EndsWith(".ext", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes, StringComparer.Ordinal);
        return new Material(files, dates);
    }

    private static void Issue(
        OpenSsl openssl, string name, string issuer, string serial, string subject, string altNames, string keyUsage, bool authorityKeyId = true, string digest = "-sha256")
    {
        openssl.Write(name + ".ext", $"basicConstraints=CA:FALSE\nsubjectAltName={altNames}\nkeyUsage=critical,{keyUsage}\n" +
            "extendedKeyUsage=emailProtection\nsubjectKeyIdentifier=hash\n" + (authorityKeyId ? "authorityKeyIdentifier=keyid\n" : "authorityKeyIdentifier=none\n"));
        openssl.Run("req", "-new", "-key", name + ".key", "-subj", subject, "-out", name + ".csr");
        openssl.Run("x509", "-req", "-in", name + ".csr", "-CA", issuer + ".crt", "-CAkey", issuer + ".key", "-set_serial", serial,
            "-days", "365", digest, "-extfile", name + ".ext", "-out", name + ".crt");
    }

    /// <summary>
    /// Certificates with dates openssl 3.0 cannot set (a notBefore in the future), issued by the intermediate with
    /// .NET's CertificateRequest, and a CRL of the intermediate that revokes one of them. Whole minutes, so the
    /// comments' dates are exact.
    /// </summary>
    private static CertificateDates IssueInProcess(TempDirectory folder)
    {
        var now = TimeProvider.System.GetUtcNow();
        now = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero);
        var dates = new CertificateDates(
            ExpiredNotBefore: now.AddDays(-60),
            ExpiredNotAfter: now.AddDays(-1),
            FutureNotBefore: now.AddDays(1),
            FutureNotAfter: now.AddDays(60),
            RevokedAt: now.AddHours(-1));

        using var issuer = X509Certificate2.CreateFromPemFile(folder.File("inter.crt"), folder.File("inter.key"));
        using var issuerKey = issuer.GetRSAPrivateKey() ?? throw new InvalidOperationException("the intermediate CA has no RSA key");
        using var key = RSA.Create(2048);
        File.WriteAllText(folder.File("inproc.key"), key.ExportPkcs8PrivateKeyPem());

        X509Certificate2 Make(string name, long serial, DateTimeOffset notBefore, DateTimeOffset notAfter, string extendedKeyUsage = "1.3.6.1.5.5.7.3.4")
        {
            var request = new CertificateRequest($"CN={name} Example", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(extendedKeyUsage)], false));
            var altNames = new SubjectAlternativeNameBuilder();
            altNames.AddEmailAddress(name + "@example.com");
            request.CertificateExtensions.Add(altNames.Build());
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
            var serialBytes = BitConverter.GetBytes(serial);
            Array.Reverse(serialBytes);
            // The generator overload: the expired certificate starts before the (just made) intermediate does.
            var certificate = request.Create(issuer.SubjectName, X509SignatureGenerator.CreateForRSA(issuerKey, RSASignaturePadding.Pkcs1), notBefore, notAfter, serialBytes);
            File.WriteAllText(folder.File(name + ".crt"), certificate.ExportCertificatePem());
            File.Copy(folder.File("inproc.key"), folder.File(name + ".key"));
            return certificate;
        }

        using var expired = Make(Expired, 0x5001, dates.ExpiredNotBefore, dates.ExpiredNotAfter);
        using var future = Make(Future, 0x5002, dates.FutureNotBefore, dates.FutureNotAfter);
        using var revoked = Make(Revoked, 0x5003, now.AddDays(-10), now.AddDays(300));
        using var server = Make(Server, 0x5004, now.AddDays(-10), now.AddDays(300), extendedKeyUsage: "1.3.6.1.5.5.7.3.1");

        var crl = new CertificateRevocationListBuilder();
        crl.AddEntry(revoked, dates.RevokedAt);
        var der = crl.Build(issuer, System.Numerics.BigInteger.One, now.AddDays(30), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1, now.AddMinutes(-30));
        File.WriteAllText(folder.File("inter.crl"), PemEncoding.WriteString("X509 CRL", der));
        File.Delete(folder.File("inproc.key"));
        return dates;
    }

    /// <summary>The dates chosen for the in-process certificates.</summary>
    public sealed record CertificateDates(
        DateTimeOffset ExpiredNotBefore,
        DateTimeOffset ExpiredNotAfter,
        DateTimeOffset FutureNotBefore,
        DateTimeOffset FutureNotAfter,
        DateTimeOffset RevokedAt);

    private sealed record Material(IReadOnlyDictionary<string, byte[]> Files, CertificateDates Dates);

    private static class Pem
    {
        public static byte[] Der(byte[] pem)
        {
            var text = Encoding.ASCII.GetString(pem);
            var fields = PemEncoding.Find(text);
            return Convert.FromBase64String(text[fields.Base64Data]);
        }
    }
}
