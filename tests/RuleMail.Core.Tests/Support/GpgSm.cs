using System.Text;

namespace RuleMail.Core.Tests.Support;

/// <summary>
/// The real gpgsm (GnuPG's S/MIME tool) with its own fresh GNUPGHOME, loaded with the <see cref="SmimeMail"/>
/// material: the root CA marked trusted in trustlist.txt, the intermediate, the support certificate (to encrypt
/// to) and sam's certificate and key (to sign with). CRL checks are off: the test CA publishes no CRL.
/// </summary>
/// <remarks>
/// gpgsm 2.2 cannot read PKCS#12 files made with OpenSSL 3's default (AES/PBKDF2) protection, so it imports
/// <c>sam.legacy.p12</c>. gpgsm takes passphrases only from a file descriptor: stdin carries the passphrase,
/// and the content goes through a file.
/// </remarks>
public sealed class GpgSm : IDisposable
{
    private readonly TempDirectory _home = new("gpgsm");

    public GpgSm()
    {
        File.WriteAllText(Path.Combine(_home.Path, "gpg-agent.conf"), "s2k-count 65536\n");
        File.WriteAllText(Path.Combine(_home.Path, "gpgsm.conf"), "disable-crl-checks\n");
        var files = SmimeMail.Files;
        foreach (var certificate in new[] { "root.crt", "inter.crt", "support.crt" })
        {
            Run(files[certificate], "--import");
        }

        Run(Passphrase(), "--pinentry-mode", "loopback", "--passphrase-fd", "0", "--import", Write("sam.legacy.p12", files["sam.legacy.p12"]));
        var listing = Run(null, "--with-colons", "--list-keys", "RuleMail Interop Root CA").StandardOutputText;
        var fingerprint = listing.Split('\n').First(l => l.StartsWith("fpr:", StringComparison.Ordinal)).Split(':')[9];
        File.WriteAllText(Path.Combine(_home.Path, "trustlist.txt"), fingerprint + " S\n");
    }

    /// <summary><c>gpgsm --detach-sign</c> (DER) by sam over exactly <paramref name="content"/>.</summary>
    public byte[] DetachSign(byte[] content) =>
        Run(Passphrase(), "--pinentry-mode", "loopback", "--passphrase-fd", "0", "--local-user", "sam@example.com", "--detach-sign", Write("content", content)).StandardOutput;

    /// <summary><c>gpgsm --sign</c> (opaque signed-data, BER with indefinite lengths) by sam.</summary>
    public byte[] Sign(byte[] content) =>
        Run(Passphrase(), "--pinentry-mode", "loopback", "--passphrase-fd", "0", "--local-user", "sam@example.com", "--sign", Write("content", content)).StandardOutput;

    /// <summary><c>gpgsm --encrypt</c> to the support certificate (enveloped-data; gpgsm's default cipher).</summary>
    public byte[] Encrypt(byte[] content) =>
        Run(null, "--recipient", "support@rulemail.test", "--encrypt", Write("content", content)).StandardOutput;

    public void Dispose()
    {
        ExternalTool.TryRun("gpgconf", ["--kill", "all"], Options(null));
        _home.Dispose();
    }

    private static byte[] Passphrase() => Encoding.UTF8.GetBytes(SmimeMail.FilePassphrase + "\n");

    private string Write(string name, byte[] content)
    {
        var path = Path.Combine(_home.Path, name + "-" + Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(path, content);
        return path;
    }

    private ToolResult Run(byte[]? stdin, params string[] arguments) =>
        ExternalTool.Run("gpgsm", ["--batch", "--no-tty", .. arguments], Options(stdin));

    private ToolOptions Options(byte[]? input) => new()
    {
        Environment = new Dictionary<string, string> { ["GNUPGHOME"] = _home.Path },
        Input = input,
    };
}
