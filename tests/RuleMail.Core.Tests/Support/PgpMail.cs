using System.Globalization;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Support;

/// <summary>
/// OpenPGP material for the incoming-mail interop tests, made by the real gpg at test time, and a gpg that
/// signs and encrypts messages with it. The keys are generated once per test run (exports kept in memory);
/// each fixture instance imports them into its own fresh GNUPGHOME.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>paul: rsa2048 sign + rsa2048 encr, "Paul Sender &lt;paul@example.net&gt;" (an RSA sender).</item>
/// <item>erik: ed25519 sign + cv25519 encr, "Erik Sender &lt;erik@example.net&gt;" (an Ed25519 sender).</item>
/// <item>support: rsa2048 sign + rsa2048 encr, "RuleMail Support &lt;support@rulemail.test&gt;" (an RSA recipient).</item>
/// <item>desk: ed25519 sign + cv25519 encr, "Help Desk &lt;desk@rulemail.test&gt;" (a Cv25519 recipient).</item>
/// <item>stranger: ed25519 + cv25519, "Stranger &lt;stranger@example.com&gt;", never in a store.</item>
/// <item>rex: ed25519 sign, "Rex Revoked &lt;rex@example.net&gt;", with the revocation certificate gpg wrote (rex.rev.asc).</item>
/// <item>ezra: ed25519 sign, "Ezra Expiring &lt;ezra@example.net&gt;", expires one day after it was made.</item>
/// <item>olga: ed25519 sign, "Olga Current &lt;olga@example.net&gt;" and the revoked user ID "Olga Old &lt;olga.old@example.net&gt;".</item>
/// </list>
/// Each key K has K.pub.asc and K.sec.asc (protected with <see cref="FilePassphrase"/>); <see cref="Key"/> gives its dates.
/// </remarks>
public sealed class PgpMail : IDisposable
{
    public const string FilePassphrase = Passphrases.File;

    public const string Paul = "paul";
    public const string Erik = "erik";
    public const string Support = "support";
    public const string Desk = "desk";
    public const string Stranger = "stranger";
    public const string Rex = "rex";
    public const string Ezra = "ezra";
    public const string Olga = "olga";

    private static readonly Lazy<Material> Generated = new(Generate, LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly string[] TextMode = ["--textmode"];

    private readonly GnuPG _gpg = new();

    public PgpMail()
    {
        var material = Generated.Value;
        var all = material.Keys.Keys.SelectMany(k => material.Files[k + ".sec.asc"].Concat("\n"u8.ToArray())).ToArray();
        _gpg.Run(all, "--pinentry-mode", "loopback", "--passphrase", FilePassphrase, "--import");
    }

    public static IReadOnlyDictionary<string, byte[]> Files => Generated.Value.Files;

    /// <summary>A file of the material, to import into a store.</summary>
    public ImportFile this[string name] =>
        Files.TryGetValue(name, out var content) ? new ImportFile(name, content) : throw new KeyNotFoundException($"the gpg fixture made no file {name}");

    public ImportFile Public(string key) => this[key + ".pub.asc"];

    public ImportFile Secret(string key) => this[key + ".sec.asc"];

    public static KeyInfo Key(string key) => Generated.Value.Keys[key];

    /// <summary>Runs gpg (with the passphrase and the "always" trust model) over <paramref name="input"/> and returns its stdout.</summary>
    public byte[] Gpg(byte[] input, params string[] arguments) =>
        _gpg.Run(input, ["--pinentry-mode", "loopback", "--passphrase", FilePassphrase, "--trust-model", "always", .. arguments]).StandardOutput;

    /// <summary><c>gpg --armor --detach-sign</c> over exactly <paramref name="content"/> (binary mode unless <paramref name="textMode"/>).</summary>
    public byte[] DetachSign(string signer, byte[] content, bool textMode = false) =>
        Gpg(content, ["--armor", "--digest-algo", "SHA256", "--local-user", Address(signer), "--detach-sign", .. (textMode ? TextMode : [])]);

    /// <summary><c>gpg --armor --encrypt</c> to <paramref name="recipient"/>; <paramref name="options"/> are added before --encrypt.</summary>
    public byte[] Encrypt(string recipient, byte[] content, params string[] options) =>
        Gpg(content, ["--armor", "--recipient", Address(recipient), .. options, "--encrypt"]);

    /// <summary><c>gpg --armor --sign --encrypt</c>: one OpenPGP message that is both signed and encrypted.</summary>
    public byte[] SignAndEncrypt(string signer, string recipient, byte[] content) =>
        Gpg(content, "--armor", "--digest-algo", "SHA256", "--local-user", Address(signer), "--recipient", Address(recipient), "--sign", "--encrypt");

    /// <summary><c>gpg --clearsign</c>: a cleartext-signed block.</summary>
    public byte[] ClearSign(string signer, byte[] content) =>
        Gpg(content, "--digest-algo", "SHA256", "--local-user", Address(signer), "--clearsign");

    public static string Address(string key) => Key(key).Address;

    public void Dispose() => _gpg.Dispose();

    private static Material Generate()
    {
        using var gpg = new GnuPG();
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var keys = new Dictionary<string, KeyInfo>(StringComparer.Ordinal);
        const string Q = FilePassphrase;

        void Make(string name, string userId, string address, string primary, string? subkey, string expire)
        {
            var fingerprint = gpg.GenerateKey(userId, primary, "sign", expire, Q);
            if (subkey is not null)
            {
                gpg.AddSubkey(fingerprint, subkey, "encr", expire, Q);
            }

            files[name + ".pub.asc"] = gpg.ExportPublic(fingerprint, armor: true);
            files[name + ".sec.asc"] = gpg.ExportSecret(fingerprint, Q, armor: true);
            var listing = gpg.Run("--with-colons", "--list-keys", fingerprint).StandardOutputText;
            var pub = listing.Split('\n').First(l => l.StartsWith("pub:", StringComparison.Ordinal)).Split(':');
            keys[name] = new KeyInfo(
                fingerprint,
                userId,
                address,
                DateTimeOffset.FromUnixTimeSeconds(long.Parse(pub[5], CultureInfo.InvariantCulture)),
                pub[6].Length == 0 ? null : DateTimeOffset.FromUnixTimeSeconds(long.Parse(pub[6], CultureInfo.InvariantCulture)));
        }

        Make(Paul, "Paul Sender <paul@example.net>", "paul@example.net", "rsa2048", "rsa2048", "2y");
        Make(Erik, "Erik Sender <erik@example.net>", "erik@example.net", "ed25519", "cv25519", "2y");
        Make(Support, "RuleMail Support <support@rulemail.test>", "support@rulemail.test", "rsa2048", "rsa2048", "2y");
        Make(Desk, "Help Desk <desk@rulemail.test>", "desk@rulemail.test", "ed25519", "cv25519", "2y");
        Make(Stranger, "Stranger <stranger@example.com>", "stranger@example.com", "ed25519", "cv25519", "2y");
        Make(Rex, "Rex Revoked <rex@example.net>", "rex@example.net", "ed25519", null, "2y");
        files["rex.rev.asc"] = gpg.RevocationCertificate(keys[Rex].Fingerprint);
        Make(Ezra, "Ezra Expiring <ezra@example.net>", "ezra@example.net", "ed25519", null, "1d");

        var olga = gpg.GenerateKey("Olga Current <olga@example.net>", "ed25519", "sign", "2y", Q);
        gpg.AddUserId(olga, "Olga Old <olga.old@example.net>", Q);
        gpg.RevokeUserId(olga, "Olga Old <olga.old@example.net>", Q);
        files[Olga + ".pub.asc"] = gpg.ExportPublic(olga, armor: true);
        files[Olga + ".sec.asc"] = gpg.ExportSecret(olga, Q, armor: true);
        keys[Olga] = new KeyInfo(olga, "Olga Current <olga@example.net>", "olga@example.net", keys[Ezra].Created, null);
        return new Material(files, keys);
    }

    /// <summary>What gpg said about a key it made.</summary>
    public sealed record KeyInfo(string Fingerprint, string UserId, string Address, DateTimeOffset Created, DateTimeOffset? Expires);

    private sealed record Material(IReadOnlyDictionary<string, byte[]> Files, IReadOnlyDictionary<string, KeyInfo> Keys);
}
