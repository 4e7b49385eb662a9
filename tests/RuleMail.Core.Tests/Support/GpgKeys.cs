namespace RuleMail.Core.Tests.Support;

/// <summary>
/// OpenPGP keys made by the real gpg at test time. Generated once per test run and shared by every class
/// that takes this fixture; the exports are kept in memory and the GNUPGHOME is deleted at once.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Rita: rsa2048 sign + rsa2048 encr subkey, 2y, protected with <see cref="FilePassphrase"/>.</item>
/// <item>Edna: ed25519 sign (2y) + cv25519 encr subkey expiring after 1y, protected.</item>
/// <item>Rex: ed25519, with the revocation certificate gpg wrote into openpgp-revocs.d.</item>
/// <item>Uma: ed25519 with uma@example.org and a revoked user ID uma.old@example.org.</item>
/// <item>Nia: ed25519 + cv25519 with no passphrase at all (its export is unprotected); nia.newsub.sec.asc: its secret
///   subkeys only (primary as a stub), exported after a second cv25519 subkey was added.</item>
/// <item>Rob: ed25519, with a revocation certificate from <c>gpg --gen-revoke</c> (reason: compromised).</item>
/// <item>Desk: ed25519 with the user ID "Help Desk" (no address), for domain aliases.</item>
/// <item>Kai: ed25519 + cv25519 expiring after 1y; kai.extended.pub.asc: the same key after both were extended to 3y.</item>
/// </list>
/// Each key K is exported as K.pub.asc, K.pub.gpg, and (where it has one) K.sec.asc, K.sec.gpg; K.fpr holds its fingerprint.
/// </remarks>
public sealed class GpgKeys
{
    /// <summary>Protects the exported secret keys.</summary>
    public const string FilePassphrase = Passphrases.File;

    private static readonly Lazy<IReadOnlyDictionary<string, byte[]>> Generated = new(Generate, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly IReadOnlyDictionary<string, byte[]> _files = Generated.Value;

    public IReadOnlyDictionary<string, byte[]> Files => _files;

    public RuleMail.Keys.ImportFile this[string name] =>
        Files.TryGetValue(name, out var content)
            ? new RuleMail.Keys.ImportFile(name, content)
            : throw new KeyNotFoundException($"the gpg fixture made no file {name}");

    public string Fingerprint(string key) => System.Text.Encoding.ASCII.GetString(Files[key + ".fpr"]);

    private static Dictionary<string, byte[]> Generate()
    {
        using var gpg = new GnuPG();
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        const string Q = FilePassphrase;

        var rita = gpg.GenerateKey("Rita Example <rita@example.org>", "rsa2048", "sign", "2y", Q);
        gpg.AddSubkey(rita, "rsa2048", "encr", "2y", Q);
        Export(gpg, files, "rita", rita, Q);

        var edna = gpg.GenerateKey("Edna Example <edna@example.org>", "ed25519", "sign", "2y", Q);
        gpg.AddSubkey(edna, "cv25519", "encr", "1y", Q);
        Export(gpg, files, "edna", edna, Q);

        var rex = gpg.GenerateKey("Rex Example <rex@example.org>", "ed25519", "sign", "2y", Q);
        Export(gpg, files, "rex", rex, Q);
        files["rex.rev.asc"] = gpg.RevocationCertificate(rex);

        var uma = gpg.GenerateKey("Uma Example <uma@example.org>", "ed25519", "sign", "2y", Q);
        gpg.AddUserId(uma, "Uma Old <uma.old@example.org>", Q);
        gpg.RevokeUserId(uma, "Uma Old <uma.old@example.org>", Q);
        Export(gpg, files, "uma", uma, secretPassphrase: null);

        var nia = gpg.GenerateKey("Nia Example <nia@example.org>", "ed25519", "sign", "2y", string.Empty);
        gpg.AddSubkey(nia, "cv25519", "encr", "2y", string.Empty);
        Export(gpg, files, "nia", nia, string.Empty);

        // Later Nia adds a second encryption subkey and hands over its secret subkeys only.
        gpg.AddSubkey(nia, "cv25519", "encr", "2y", string.Empty);
        files["nia.newsub.sec.asc"] = gpg.ExportSecretSubkeys(nia, string.Empty);

        var rob = gpg.GenerateKey("Rob Example <rob@example.org>", "ed25519", "sign", "2y", Q);
        Export(gpg, files, "rob", rob, secretPassphrase: null);
        files["rob.rev.asc"] = gpg.GenerateRevocation(rob, Q);

        // Kai's key expires after a year; later Kai extends key and subkey to three years and exports it again.
        var kai = gpg.GenerateKey("Kai Example <kai@example.org>", "ed25519", "sign", "1y", Q);
        gpg.AddSubkey(kai, "cv25519", "encr", "1y", Q);
        Export(gpg, files, "kai", kai, secretPassphrase: null);
        gpg.SetExpiry(kai, "3y", Q);
        gpg.SetExpiry(kai, "3y", Q, "*");
        files["kai.extended.pub.asc"] = gpg.ExportPublic(kai, armor: true);

        var desk = gpg.GenerateKey("Help Desk", "ed25519", "sign", "2y", Q);
        Export(gpg, files, "desk", desk, secretPassphrase: null);

        return files;
    }

    private static void Export(GnuPG gpg, Dictionary<string, byte[]> files, string name, string fingerprint, string? secretPassphrase)
    {
        files[name + ".fpr"] = System.Text.Encoding.ASCII.GetBytes(fingerprint);
        files[name + ".pub.asc"] = gpg.ExportPublic(fingerprint, armor: true);
        files[name + ".pub.gpg"] = gpg.ExportPublic(fingerprint, armor: false);
        if (secretPassphrase is not null)
        {
            files[name + ".sec.asc"] = gpg.ExportSecret(fingerprint, secretPassphrase, armor: true);
            files[name + ".sec.gpg"] = gpg.ExportSecret(fingerprint, secretPassphrase, armor: false);
        }
    }
}
