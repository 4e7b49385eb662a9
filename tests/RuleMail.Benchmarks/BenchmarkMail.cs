using System.Text;
using MimeKit;
using RuleMail.Keys;

namespace RuleMail.Benchmarks;

/// <summary>
/// A key store and small messages made by real openssl and gpg, as they arrive: S/MIME RSA-2048 signed
/// then encrypted, OpenPGP RSA-3072 and Ed25519/Cv25519 signed and encrypted (PGP/MIME).
/// </summary>
internal sealed class BenchmarkMail : IDisposable
{
    private const string Passphrase = "benchmark";
    private static readonly string[] StoreFiles = ["ca.crt", "desk.crt", "desk.key", "customer.crt", "desk.sec.asc", "customers.asc"];
    private readonly string _work;

    public BenchmarkMail()
    {
        _work = Path.Combine(Path.GetTempPath(), $"rulemail-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_work);
        var gnupg = Path.Combine(_work, "gnupg");
        Directory.CreateDirectory(gnupg);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(gnupg, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var gpgEnvironment = new Dictionary<string, string> { ["GNUPGHOME"] = gnupg };

        // S/MIME: a CA, the receiving desk and a signing customer, RSA-2048.
        OpenSsl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "30",
            "-subj", "/CN=Bench CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        foreach (var (name, address) in new[] { ("desk", "desk@bench.test"), ("customer", "customer@bench.test") })
        {
            OpenSsl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", $"{name}.key", "-out", $"{name}.csr", "-subj", $"/CN={address}");
            File.WriteAllText(Path.Combine(_work, $"{name}.ext"), $"subjectAltName=email:{address}\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\n");
            OpenSsl("x509", "-req", "-in", $"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "30",
                "-extfile", $"{name}.ext", "-out", $"{name}.crt");
        }

        // OpenPGP: the desk (secret) and two customers (public), RSA-3072 and Ed25519/Cv25519.
        string Gpg(params string[] arguments) => Tools.Run("gpg", _work, gpgEnvironment,
            ["--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "", "--trust-model", "always", .. arguments]);
        string NewKey(string userId, string primary, string sub)
        {
            Gpg("--quick-gen-key", userId, primary, "sign,cert", "1y");
            var fingerprint = Gpg("--with-colons", "--list-keys", userId).Split('\n').First(l => l.StartsWith("fpr:", StringComparison.Ordinal)).Split(':')[9];
            Gpg("--quick-add-key", fingerprint, sub, "encr", "1y");
            return fingerprint;
        }

        NewKey("Desk RSA <desk-rsa@bench.test>", "rsa3072", "rsa3072");
        NewKey("Desk 25519 <desk-25519@bench.test>", "ed25519", "cv25519");
        NewKey("Customer RSA <customer-rsa@bench.test>", "rsa3072", "rsa3072");
        NewKey("Customer 25519 <customer-25519@bench.test>", "ed25519", "cv25519");
        File.WriteAllText(Path.Combine(_work, "desk.sec.asc"), Gpg("--armor", "--export-secret-keys", "desk-rsa@bench.test", "desk-25519@bench.test"));
        File.WriteAllText(Path.Combine(_work, "customers.asc"), Gpg("--armor", "--export", "customer-rsa@bench.test", "customer-25519@bench.test"));

        Store = KeyStore.OpenOrCreate(Path.Combine(_work, "store"), new KeyStoreOptions { Passphrase = new KeyStorePassphrase(Passphrase), Pkcs8Iterations = 1000 });
        Store.Import([.. StoreFiles.Select(f => ImportFile.Read(Path.Combine(_work, f)))]);

        const string Body = "Content-Type: text/plain; charset=utf-8\r\n\r\nHello, this is a short support request about my order 4711.\r\n";
        File.WriteAllText(Path.Combine(_work, "body.txt"), Body);
        OpenSsl("smime", "-sign", "-in", "body.txt", "-signer", "customer.crt", "-inkey", "customer.key", "-out", "signed.txt");
        OpenSsl("smime", "-encrypt", "-aes256", "-in", "signed.txt", "-out", "smime.txt", "desk.crt");
        SmimeSignedEncrypted = Message("customer@bench.test", "desk@bench.test", File.ReadAllText(Path.Combine(_work, "smime.txt")));
        SmimeSigned = Message("customer@bench.test", "desk@bench.test", File.ReadAllText(Path.Combine(_work, "signed.txt")));
        OpenSsl("smime", "-encrypt", "-aes256", "-in", "body.txt", "-out", "encrypted.txt", "desk.crt");
        SmimeEncrypted = Message("customer@bench.test", "desk@bench.test", File.ReadAllText(Path.Combine(_work, "encrypted.txt")));

        PgpRsa = PgpMime("customer-rsa@bench.test", "desk-rsa@bench.test", Body, Gpg);
        Pgp25519 = PgpMime("customer-25519@bench.test", "desk-25519@bench.test", Body, Gpg);
    }

    public KeyStore Store { get; }

    public byte[] SmimeSignedEncrypted { get; }

    public byte[] SmimeSigned { get; }

    public byte[] SmimeEncrypted { get; }

    public byte[] PgpRsa { get; }

    public byte[] Pgp25519 { get; }

    public static MimeMessage Parse(byte[] message) => MimeMessage.Load(new MemoryStream(message, writable: false));

    /// <summary>The shipped rules folder (<c>rules/</c> of the repository this benchmark was built from).</summary>
    public static string ShippedRules { get; } = FindRules();

    /// <summary>The raw message as the product reads it: <c>IncomingSecurity.Inspect(Stream)</c> bounds and parses it itself.</summary>
    public static MemoryStream Raw(byte[] message) => new(message, writable: false);

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private byte[] PgpMime(string from, string to, string body, Func<string[], string> gpg)
    {
        var input = Path.Combine(_work, $"{to}.txt");
        File.WriteAllText(input, body);
        var armored = gpg(["--armor", "--sign", "--encrypt", "-u", from, "-r", to, "-o", "-", input]);
        var mime = "MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b\"\r\n\r\n" +
                   "--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n" +
                   armored + "\r\n--b--\r\n";
        return Message(from, to, mime);
    }

    private static byte[] Message(string from, string to, string mimeBody) =>
        Encoding.UTF8.GetBytes($"From: {from}\r\nTo: {to}\r\nSubject: Order 4711\r\nMessage-ID: <bench@bench.test>\r\n{mimeBody}");

    private void OpenSsl(params string[] arguments) => Tools.Run("openssl", _work, null, arguments);

    private static string FindRules()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "RuleMail.sln")))
            {
                return Path.Combine(folder.FullName, "rules");
            }
        }

        throw new InvalidOperationException("the benchmarks run from inside the RuleMail repository (no RuleMail.sln above)");
    }
}
