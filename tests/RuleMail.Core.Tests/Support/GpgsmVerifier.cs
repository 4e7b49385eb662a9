using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RuleMail.Core.Tests.Support;

/// <summary>
/// The real gpgsm with its own fresh GNUPGHOME that trusts one root CA (trustlist.txt), checks no CRLs and
/// never asks dirmngr: it verifies what it is given against that root alone. The agent is stopped on dispose.
/// </summary>
internal sealed class GpgsmVerifier : IDisposable
{
    private readonly TempDirectory _home = new("gpgsm");

    public GpgsmVerifier(byte[] rootPem)
    {
        using var root = X509Certificate2.CreateFromPem(System.Text.Encoding.ASCII.GetString(rootPem));
        var fingerprint = string.Join(':', root.GetCertHash(HashAlgorithmName.SHA1).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
        File.WriteAllText(_home.File("trustlist.txt"), fingerprint + " S\n");
        File.WriteAllText(_home.File("gpgsm.conf"), "disable-crl-checks\ndisable-dirmngr\n");
        Run(rootPem, "--import");
    }

    /// <summary><c>gpgsm --verify SIGNATURE CONTENT</c> with the status lines on stdout; fails the test on a bad exit code.</summary>
    public ToolResult Verify(byte[] signature, byte[] content)
    {
        File.WriteAllBytes(_home.File("signature.p7s"), signature);
        File.WriteAllBytes(_home.File("content"), content);
        return Run(null, "--status-fd", "1", "--verify", _home.File("signature.p7s"), _home.File("content"));
    }

    public void Dispose()
    {
        ExternalTool.TryRun("gpgconf", ["--kill", "all"], Options(null));
        _home.Dispose();
    }

    private ToolResult Run(byte[]? input, params string[] arguments) =>
        ExternalTool.Run("gpgsm", ["--batch", .. arguments], Options(input));

    private ToolOptions Options(byte[]? input) => new()
    {
        Environment = new Dictionary<string, string> { ["GNUPGHOME"] = _home.Path },
        Input = input,
    };
}
