using RuleMail.Keys;

namespace RuleMail.Core.Tests.Support;

/// <summary>
/// Rhea, an RSA-3072 key made by the real gpg (rsa3072 sign + rsa3072 encr, protected with <see cref="FilePassphrase"/>),
/// and the gpg that holds it, to sign and encrypt messages with it and to read what RuleMail sends. Made once per class.
/// </summary>
public sealed class Rsa3072Mail : IDisposable
{
    public const string FilePassphrase = Passphrases.File;
    public const string Address = "rhea@example.net";

    private readonly GnuPG _gpg = new();

    public Rsa3072Mail()
    {
        Fingerprint = _gpg.GenerateKey($"Rhea Example <{Address}>", "rsa3072", "sign", "2y", FilePassphrase);
        _gpg.AddSubkey(Fingerprint, "rsa3072", "encr", "2y", FilePassphrase);
        Secret = new ImportFile("rhea.sec.asc", _gpg.ExportSecret(Fingerprint, FilePassphrase, armor: true));
    }

    public string Fingerprint { get; }

    public ImportFile Secret { get; }

    /// <summary>Runs gpg (with the passphrase and the "always" trust model) over <paramref name="input"/>: its stdout and status lines.</summary>
    internal ToolResult Gpg(byte[] input, params string[] arguments) =>
        _gpg.Run(input, ["--pinentry-mode", "loopback", "--passphrase", FilePassphrase, "--trust-model", "always", "--status-fd", "2", .. arguments]);

    /// <summary><c>gpg --armor --sign --encrypt</c> by Rhea to Rhea.</summary>
    public byte[] SignAndEncrypt(byte[] content) =>
        Gpg(content, "--armor", "--digest-algo", "SHA256", "--local-user", Address, "--recipient", Address, "--sign", "--encrypt").StandardOutput;

    public void Dispose() => _gpg.Dispose();
}
