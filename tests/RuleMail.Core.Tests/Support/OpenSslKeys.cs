using System.Globalization;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Support;

/// <summary>
/// S/MIME material made by the real openssl at test time, in every format the key store reads. Generated
/// once per test run (RSA key generation is the slow part) and shared by every class that takes this
/// fixture; the files are kept in memory and the working folder is deleted at once.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>ca.crt: "RuleMail Test CA", RSA-2048, a trust anchor; crl.pem / crl.der revoke serial 0x1002 (bob).</item>
/// <item>alice: RSA-2048, serial 0x1001, SAN alice@example.org and Alice.Second@Example.ORG, digitalSignature+keyEncipherment, emailProtection.
///   Key as PKCS#1, PKCS#8, encrypted PKCS#8, legacy encrypted PEM; PKCS#12 (modern and -legacy); cert as PEM, DER, TRUSTED CERTIFICATE;
///   bundle.p7b: alice and the CA in a PKCS#7 PEM bundle.</item>
/// <item>erin: EC P-256, serial 0x1003, SAN erin@example.org, digitalSignature+keyAgreement. Key from <c>openssl ecparam -genkey</c> (with its EC PARAMETERS block), PKCS#8, PKCS#12.</item>
/// <item>bob: RSA-2048, serial 0x1002, SAN bob@example.org, revoked by crl.pem.</item>
/// <item>frank: no SAN, subject emailAddress Frank@Example.org. nobody: no address at all.</item>
/// <item>stranger-crl.pem: a CRL from a CA that is never imported.</item>
/// </list>
/// </remarks>
public sealed class OpenSslKeys
{
    /// <summary>Protects the encrypted inputs (encrypted PKCS#8, legacy PEM, PKCS#12).</summary>
    public const string FilePassphrase = Passphrases.File;

    public const string AliceSerial = "1001";
    public const string BobSerial = "1002";

    private static readonly Lazy<IReadOnlyDictionary<string, byte[]>> Generated = new(Generate, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly IReadOnlyDictionary<string, byte[]> _files = Generated.Value;

    public IReadOnlyDictionary<string, byte[]> Files => _files;

    public ImportFile this[string name] =>
        Files.TryGetValue(name, out var content)
            ? new ImportFile(name, content)
            : throw new KeyNotFoundException($"the openssl fixture made no file {name}");

    public byte[] Bytes(string name) => this[name].Content;

    private static Dictionary<string, byte[]> Generate()
    {
        using var folder = new TempDirectory("openssl");
        var openssl = new OpenSsl(folder.Path);
        var passphrase = new Dictionary<string, string> { ["RULEMAIL_TEST_FILE_PASSPHRASE"] = FilePassphrase };
        const string PassOut = "env:RULEMAIL_TEST_FILE_PASSPHRASE";

        openssl.Run(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "30",
            "-subj", "/O=RuleMail Tests/CN=RuleMail Test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");

        // alice: RSA, two SAN addresses, every key format.
        openssl.Run("genrsa", "-traditional", "-out", "alice.rsa.pem", "2048");
        Issue(openssl, "alice", "alice.rsa.pem", AliceSerial, "/CN=Alice Example",
            "subjectAltName=email:alice@example.org,email:Alice.Second@Example.ORG",
            "keyUsage=critical,digitalSignature,keyEncipherment", "extendedKeyUsage=emailProtection");
        openssl.Run("x509", "-in", "alice.crt", "-outform", "DER", "-out", "alice.der");
        openssl.Run("x509", "-in", "alice.crt", "-trustout", "-addtrust", "emailProtection", "-out", "alice.trusted.pem");
        openssl.Run("pkcs8", "-topk8", "-nocrypt", "-in", "alice.rsa.pem", "-out", "alice.pkcs8.pem");
        openssl.Run(passphrase, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "alice.rsa.pem", "-passout", PassOut, "-out", "alice.pkcs8.enc.pem");
        openssl.Run(passphrase, "rsa", "-in", "alice.rsa.pem", "-aes256", "-traditional", "-passout", PassOut, "-out", "alice.legacy.pem");
        openssl.Run(passphrase, "pkcs12", "-export", "-in", "alice.crt", "-inkey", "alice.rsa.pem", "-passout", PassOut, "-out", "alice.p12");
        openssl.Run(passphrase, "pkcs12", "-export", "-legacy", "-in", "alice.crt", "-inkey", "alice.rsa.pem", "-passout", PassOut, "-out", "alice.legacy.p12");
        openssl.Run("crl2pkcs7", "-nocrl", "-certfile", "alice.crt", "-certfile", "ca.crt", "-out", "bundle.p7b");
        openssl.Write("alice.combined.pem", File.ReadAllText(folder.File("alice.crt")) + File.ReadAllText(folder.File("alice.pkcs8.pem")));

        // erin: EC P-256; ecparam writes an EC PARAMETERS block before the key, as many guides leave it.
        openssl.Run("ecparam", "-name", "prime256v1", "-genkey", "-out", "erin.ecparam.pem");
        openssl.Run("ec", "-in", "erin.ecparam.pem", "-out", "erin.ec.pem");
        openssl.Run("pkcs8", "-topk8", "-nocrypt", "-in", "erin.ec.pem", "-out", "erin.pkcs8.pem");
        Issue(openssl, "erin", "erin.ec.pem", "1003", "/CN=Erin Example",
            "subjectAltName=email:erin@example.org", "keyUsage=critical,digitalSignature,keyAgreement", "extendedKeyUsage=emailProtection");
        openssl.Run(passphrase, "pkcs12", "-export", "-in", "erin.crt", "-inkey", "erin.ec.pem", "-passout", PassOut, "-out", "erin.p12");

        // bob: revoked by the CA's CRL.
        openssl.Run("genrsa", "-traditional", "-out", "bob.rsa.pem", "2048");
        Issue(openssl, "bob", "bob.rsa.pem", BobSerial, "/CN=Bob Example",
            "subjectAltName=email:bob@example.org", "keyUsage=critical,digitalSignature,keyEncipherment");

        // frank: address only in the subject; nobody: no address anywhere. EC keys: instant to make.
        openssl.Run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "frank.ec.pem");
        Issue(openssl, "frank", "frank.ec.pem", "1004", "/CN=Frank Example/emailAddress=Frank@Example.org", "keyUsage=critical,digitalSignature");
        openssl.Run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "nobody.ec.pem");
        Issue(openssl, "nobody", "nobody.ec.pem", "1005", "/CN=Nobody Example", "keyUsage=critical,digitalSignature");

        GenerateCrl(openssl, "ca", "crl.pem", BobSerial);
        openssl.Run("crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der");

        // A CRL from a CA the store never sees.
        openssl.Run(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "stranger.key", "-out", "stranger.crt",
            "-days", "30", "-subj", "/CN=Stranger CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        GenerateCrl(openssl, "stranger", "stranger-crl.pem", "77");

        return Directory.EnumerateFiles(folder.Path).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes, StringComparer.Ordinal);
    }

    private static void Issue(OpenSsl openssl, string name, string key, string serial, string subject, params string[] extensions)
    {
        openssl.Write(name + ".ext", string.Join('\n', ["basicConstraints=CA:FALSE", .. extensions]) + "\n");
        openssl.Run("req", "-new", "-key", key, "-subj", subject, "-out", name + ".csr");
        openssl.Run(
            "x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", "0x" + serial,
            "-days", "30", "-sha256", "-extfile", name + ".ext", "-out", name + ".crt");
    }

    /// <summary>A CRL from <c>openssl ca -gencrl</c> with a minimal CA database listing <paramref name="revokedSerial"/>.</summary>
    private static void GenerateCrl(OpenSsl openssl, string ca, string output, string revokedSerial)
    {
        var expiry = TimeProvider.System.GetUtcNow().AddDays(30).ToString("yyMMddHHmmss'Z'", CultureInfo.InvariantCulture);
        var revoked = TimeProvider.System.GetUtcNow().AddHours(-1).ToString("yyMMddHHmmss'Z'", CultureInfo.InvariantCulture);
        openssl.Write(ca + ".index", $"R\t{expiry}\t{revoked}\t{revokedSerial}\tunknown\t/CN=Revoked\n");
        openssl.Write(ca + ".crlnumber", "01\n");
        openssl.Write(ca + ".cnf", $"""
            [ca]
            default_ca = this
            [this]
            database = {ca}.index
            crlnumber = {ca}.crlnumber
            default_md = sha256
            default_crl_days = 30

            """);
        openssl.Run("ca", "-config", ca + ".cnf", "-gencrl", "-keyfile", ca + ".key", "-cert", ca + ".crt", "-out", output);
    }
}
