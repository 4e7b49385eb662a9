using System.Text;

namespace RuleMail.Core.Tests.Support;

/// <summary>
/// The real gpg with its own fresh GNUPGHOME (never the user's keyring). Passphrases go through
/// <c>--pinentry-mode loopback</c>; the agent it starts is stopped on dispose.
/// </summary>
internal sealed class GnuPG : IDisposable
{
    private readonly TempDirectory _home = new("gnupg");

    public GnuPG()
    {
        // The agent's default S2K calibration costs seconds per protected key on slow machines; the
        // protection strength of throw-away test keys does not matter. No passphrase caching: a test
        // that gives a wrong passphrase must not be rescued by an earlier right one.
        File.WriteAllText(Path.Combine(_home.Path, "gpg-agent.conf"), "s2k-count 65536\ndefault-cache-ttl 0\nmax-cache-ttl 0\n");
    }

    public string Home => _home.Path;

    public ToolResult Run(params string[] arguments) => Run(null, arguments);

    public ToolResult Run(byte[]? input, params string[] arguments) =>
        ExternalTool.Run("gpg", ["--batch", "--no-tty", .. arguments], Options(input));

    public ToolResult TryRun(byte[]? input, params string[] arguments) =>
        ExternalTool.TryRun("gpg", ["--batch", "--no-tty", .. arguments], Options(input));

    /// <summary>Makes a primary key and returns its fingerprint. An empty passphrase leaves the key unprotected.</summary>
    public string GenerateKey(string userId, string algorithm, string usage, string expire, string passphrase)
    {
        Run(WithPassphrase(passphrase, "--quick-gen-key", userId, algorithm, usage, expire));
        return Fingerprint(userId);
    }

    public void AddSubkey(string fingerprint, string algorithm, string usage, string expire, string passphrase) =>
        Run(WithPassphrase(passphrase, "--quick-add-key", fingerprint, algorithm, usage, expire));

    /// <summary>Sets a new expiry on the primary key, or on the subkeys when <paramref name="subkeys"/> is "*".</summary>
    public void SetExpiry(string fingerprint, string expire, string passphrase, string? subkeys = null) =>
        Run(WithPassphrase(passphrase, subkeys is null ? ["--quick-set-expire", fingerprint, expire] : ["--quick-set-expire", fingerprint, expire, subkeys]));

    public void AddUserId(string fingerprint, string userId, string passphrase) =>
        Run(WithPassphrase(passphrase, "--quick-add-uid", fingerprint, userId));

    public void RevokeUserId(string fingerprint, string userId, string passphrase) =>
        Run(WithPassphrase(passphrase, "--quick-revoke-uid", fingerprint, userId));

    public byte[] ExportPublic(string fingerprint, bool armor) =>
        Run(armor ? ["--armor", "--export", fingerprint] : ["--export", fingerprint]).StandardOutput;

    public byte[] ExportSecret(string fingerprint, string passphrase, bool armor) =>
        Run(WithPassphrase(passphrase, armor ? ["--armor", "--export-secret-keys", fingerprint] : ["--export-secret-keys", fingerprint])).StandardOutput;

    /// <summary>Exports the secret subkeys only: the primary key's secret part becomes a stub (offline primary key).</summary>
    public byte[] ExportSecretSubkeys(string fingerprint, string passphrase) =>
        Run(WithPassphrase(passphrase, "--armor", "--export-secret-subkeys", fingerprint)).StandardOutput;

    /// <summary>
    /// <c>gpg --gen-revoke</c> with the reason "key has been compromised". It asks its questions even with
    /// --command-fd, and refuses to run in --batch mode, so the answers go through stdin without it.
    /// </summary>
    public byte[] GenerateRevocation(string fingerprint, string passphrase) =>
        ExternalTool.Run(
            "gpg",
            ["--no-tty", "--yes", "--command-fd", "0", "--pinentry-mode", "loopback", "--passphrase", passphrase, "--armor", "--gen-revoke", fingerprint],
            Options("y\n1\n\ny\n"u8.ToArray())).StandardOutput;

    /// <summary>
    /// The revocation certificate gpg wrote into openpgp-revocs.d when it made the key, with the colon gpg
    /// puts before the armor removed, as its instructions tell the user to do.
    /// </summary>
    public byte[] RevocationCertificate(string fingerprint)
    {
        var text = File.ReadAllText(Path.Combine(Home, "openpgp-revocs.d", fingerprint + ".rev"));
        return Encoding.ASCII.GetBytes(text.Replace(":-----BEGIN PGP", "-----BEGIN PGP", StringComparison.Ordinal));
    }

    public string Fingerprint(string userIdOrKey)
    {
        var listing = Run("--with-colons", "--list-keys", userIdOrKey).StandardOutputText;
        var line = listing.Split('\n').FirstOrDefault(l => l.StartsWith("fpr:", StringComparison.Ordinal))
            ?? throw new ExternalToolException($"gpg lists no fingerprint for {userIdOrKey}:\n{listing}");
        return line.Split(':')[9];
    }

    public void Dispose()
    {
        ExternalTool.TryRun("gpgconf", ["--kill", "all"], Options(null));
        _home.Dispose();
    }

    private static string[] WithPassphrase(string passphrase, params string[] arguments) =>
        ["--pinentry-mode", "loopback", "--passphrase", passphrase, .. arguments];

    private ToolOptions Options(byte[]? input) => new()
    {
        Environment = new Dictionary<string, string> { ["GNUPGHOME"] = Home },
        Input = input,
    };
}
