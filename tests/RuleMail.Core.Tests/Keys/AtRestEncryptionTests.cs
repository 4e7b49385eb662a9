using System.Formats.Asn1;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Bcpg;
using RuleMail.Core.Tests.Support;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Keys;

/// <summary>
/// Private keys at rest: encrypted under the store passphrase P (never the file passphrase Q), no secret
/// in the clear anywhere in the folder, owner-only files, and still readable by openssl and gpg with P.
/// </summary>
public sealed class AtRestEncryptionTests(OpenSslKeys openssl, GpgKeys gpg)
    : IClassFixture<OpenSslKeys>, IClassFixture<GpgKeys>
{
    private const string P = Passphrases.Store;
    private const string Q = Passphrases.File;

    private static readonly string[] PlaintextKeyLabels =
        ["BEGIN PRIVATE KEY", "BEGIN RSA PRIVATE KEY", "BEGIN EC PRIVATE KEY", "Proc-Type"];

    [Fact]
    public void No_file_in_the_store_holds_a_private_key_or_a_passphrase_in_the_clear()
    {
        using var store = ImportEverything();

        foreach (var (file, bytes) in StoreContents.AllForms(store.Directory))
        {
            var text = Encoding.ASCII.GetString(bytes);
            foreach (var label in PlaintextKeyLabels)
            {
                Assert.False(text.Contains(label, StringComparison.Ordinal), $"{file} contains \"{label}\"");
            }
        }

        StoreContents.AssertNowhere(store.Directory, Encoding.UTF8.GetBytes(P), "the store passphrase");
        StoreContents.AssertNowhere(store.Directory, Encoding.UTF8.GetBytes(Q), "the file passphrase");
        foreach (var (what, secret) in SmimeSecrets().Concat(PgpSecrets()))
        {
            StoreContents.AssertNowhere(store.Directory, secret, what);
            StoreContents.AssertNowhere(store.Directory, [.. secret.Reverse()], what + " (reversed)");
        }
    }

    [Fact]
    public void Every_stored_OpenPGP_secret_key_is_protected_by_AES_256_under_an_iterated_and_salted_S2K()
    {
        using var store = ImportEverything();
        var files = Directory.GetFiles(Path.Combine(store.Directory, "pgp"), "*.sec.asc");
        Assert.Equal(3, files.Length);

        foreach (var file in files)
        {
            var ring = Pgp.SecretRing(File.ReadAllBytes(file));
            var secretKeys = ring.GetSecretKeys().Where(k => !k.IsPrivateKeyEmpty).ToList();
            Assert.Equal(2, secretKeys.Count);
            foreach (var key in secretKeys)
            {
                Assert.NotEqual(SecretKeyPacket.UsageNone, key.S2kUsage);
                Assert.Equal(SymmetricKeyAlgorithmTag.Aes256, key.KeyEncryptionAlgorithm);
                Assert.Equal(S2k.SaltedAndIterated, key.S2k.Type);
                Assert.Throws<Org.BouncyCastle.Bcpg.OpenPgp.PgpException>(() => key.ExtractPrivateKey(Q.ToCharArray()));
                Assert.NotNull(key.ExtractPrivateKey(P.ToCharArray()));
            }
        }
    }

    [Fact]
    public void Every_stored_SMIME_key_is_PBES2_with_AES_256_CBC_and_the_configured_PBKDF2_count()
    {
        using var store = ImportEverything();
        var files = Directory.GetFiles(Path.Combine(store.Directory, "smime"), "*.key");
        Assert.Equal(2, files.Length);

        foreach (var file in files)
        {
            var parameters = Pbes2Parameters.Read(File.ReadAllBytes(file));
            Assert.Equal(Pbes2Parameters.Pbkdf2, parameters.KeyDerivation);
            Assert.Equal(Pbes2Parameters.HmacSha256, parameters.PseudoRandomFunction);
            Assert.Equal(Pbes2Parameters.Aes256Cbc, parameters.Cipher);
            Assert.Equal(store.Options.Pkcs8Iterations, parameters.Iterations);
        }
    }

    [Fact]
    public void By_default_SMIME_keys_are_stored_with_600000_PBKDF2_iterations()
    {
        using var store = new TestStore();
        var options = new KeyStoreOptions { Time = store.Time, Passphrase = new KeyStorePassphrase(P) };
        var keyStore = KeyStore.OpenOrCreate(store.Directory, options);

        keyStore.Import([openssl["erin.crt"], openssl["erin.pkcs8.pem"]]);

        var key = Assert.Single(Directory.GetFiles(Path.Combine(store.Directory, "smime"), "*.key"));
        Assert.Equal(600_000, Pbes2Parameters.Read(File.ReadAllBytes(key)).Iterations);
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void Private_key_files_are_readable_by_their_owner_only()
    {
        using var store = ImportEverything();

        var secrets = Directory.GetFiles(store.Directory, "*.key", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(store.Directory, "*.sec.asc", SearchOption.AllDirectories))
            .ToList();

        Assert.Equal(5, secrets.Count);
        Assert.All(secrets, file => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file)));
    }

    [Theory]
    [InlineData("alice")]
    [InlineData("erin")]
    public void Openssl_opens_a_stored_SMIME_key_with_the_store_passphrase_and_with_nothing_else(string owner)
    {
        using var store = ImportEverything();
        var entry = Assert.Single(store.Store.FindSmime(owner + "@example.org"));
        var keyFile = store.PathOf("smime", entry.Fingerprint + ".key");
        var tool = new OpenSsl(store.Directory);

        var opened = tool.Run(new Dictionary<string, string> { ["STORE_PASSPHRASE"] = P }, "pkcs8", "-in", keyFile, "-passin", "env:STORE_PASSPHRASE");
        var refused = ExternalTool.TryRun("openssl", ["pkcs8", "-in", keyFile, "-passin", "pass:" + Q]);

        using var key = LoadPrivateKey(opened.StandardOutputText);
        Assert.Equal(entry.Certificate.PublicKey.ExportSubjectPublicKeyInfo(), key.ExportSubjectPublicKeyInfo());
        Assert.NotEqual(0, refused.ExitCode);
    }

    [Theory]
    [InlineData("rita")]
    [InlineData("edna")]
    [InlineData("nia")]
    public void Gpg_imports_a_stored_secret_key_with_the_store_passphrase_then_signs_and_decrypts_with_it(string owner)
    {
        using var store = ImportEverything();
        var fingerprint = gpg.Fingerprint(owner);
        using var home = new GnuPG();
        using var work = new TempDirectory("gpg-interop");
        File.WriteAllText(work.File("message.txt"), "interop with gpg\n");

        home.Run("--pinentry-mode", "loopback", "--passphrase", P, "--import", store.PathOf("pgp", fingerprint + ".sec.asc"));
        var wrongPassphrase = home.TryRun(
            null, "--pinentry-mode", "loopback", "--passphrase", Q, "--local-user", fingerprint, "--output", work.File("wrong.sig"), "--detach-sign", work.File("message.txt"));
        home.Run("--pinentry-mode", "loopback", "--passphrase", P, "--local-user", fingerprint, "--output", work.File("message.sig"), "--detach-sign", work.File("message.txt"));
        home.Run("--verify", work.File("message.sig"), work.File("message.txt"));
        home.Run("--trust-model", "always", "--recipient", fingerprint, "--output", work.File("message.gpg"), "--encrypt", work.File("message.txt"));
        var decrypted = home.Run("--pinentry-mode", "loopback", "--passphrase", P, "--decrypt", work.File("message.gpg"));

        Assert.Equal("interop with gpg\n", decrypted.StandardOutputText);
        Assert.NotEqual(0, wrongPassphrase.ExitCode);
    }

    [Fact]
    public void OpenPrivateKey_refuses_without_the_store_passphrase_and_with_a_wrong_one()
    {
        using var store = ImportEverything();
        var withoutPassphrase = store.Open(passphrase: null);
        var wrongPassphrase = store.Open(passphrase: "not-the-store-passphrase");
        var certificate = Assert.Single(withoutPassphrase.FindSmime("alice@example.org"));
        var key = Assert.Single(wrongPassphrase.FindPgp("rita@example.org"));

        var locked = Assert.Throws<KeyStoreException>(() => withoutPassphrase.OpenPrivateKey(certificate));
        var wrongSmime = Assert.Throws<KeyStoreException>(() => wrongPassphrase.OpenPrivateKey(Assert.Single(wrongPassphrase.FindSmime("alice@example.org"))));
        var wrongPgp = Assert.Throws<KeyStoreException>(() => wrongPassphrase.OpenPrivateKey(key, Convert.ToInt64(key.KeyId, 16)));

        Assert.Contains(KeyStorePassphrase.EnvironmentVariable, locked.Message, StringComparison.Ordinal);
        Assert.Contains("passphrase", wrongSmime.Message, StringComparison.Ordinal);
        Assert.Contains("passphrase", wrongPgp.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-store-passphrase", wrongSmime.Message + wrongPgp.Message, StringComparison.Ordinal);
    }

    /// <summary>PKCS#12, a plain PKCS#8 key, two passphrase-protected gpg exports and an unprotected one, with P and Q.</summary>
    private TestStore ImportEverything()
    {
        var store = new TestStore();
        store.Import(
            Q,
            openssl["alice.p12"],
            openssl["erin.crt"],
            openssl["erin.pkcs8.pem"],
            gpg["rita.sec.asc"],
            gpg["edna.sec.gpg"],
            gpg["nia.sec.asc"]);
        return store;
    }

    private IEnumerable<(string What, byte[] Secret)> SmimeSecrets()
    {
        foreach (var owner in new[] { "alice", "erin" })
        {
            var pem = Encoding.ASCII.GetString(openssl.Bytes(owner + ".pkcs8.pem"));
            var der = PemEncoding.Find(pem) is var fields ? Convert.FromBase64String(pem[fields.Base64Data]) : [];
            yield return ($"{owner}'s PKCS#8 key", der);
            using var key = LoadPrivateKey(pem);
            switch (key)
            {
                case RSA rsa:
                    var parameters = rsa.ExportParameters(includePrivateParameters: true);
                    yield return ($"{owner}'s private exponent", parameters.D!);
                    yield return ($"{owner}'s prime p", parameters.P!);
                    break;
                case ECDsa ec:
                    yield return ($"{owner}'s private scalar", ec.ExportParameters(includePrivateParameters: true).D!);
                    break;
            }
        }
    }

    private IEnumerable<(string What, byte[] Secret)> PgpSecrets()
    {
        foreach (var (owner, passphrase) in new[] { ("rita", Q), ("edna", Q), ("nia", string.Empty) })
        {
            foreach (var key in Pgp.SecretRing(gpg.Files[owner + ".sec.gpg"]).GetSecretKeys())
            {
                var secret = key.ExtractPrivateKey(passphrase.ToCharArray());
                yield return ($"{owner}'s secret key {key.KeyId:X16}", Pgp.SecretBytes(secret.Key));
            }
        }
    }

    private static AsymmetricAlgorithm LoadPrivateKey(string pem)
    {
        var label = pem[PemEncoding.Find(pem).Label];
        Assert.Equal("PRIVATE KEY", label);
        var der = Convert.FromBase64String(pem[PemEncoding.Find(pem).Base64Data]);
        var algorithm = System.Security.Cryptography.Pkcs.Pkcs8PrivateKeyInfo.Decode(der, out _).AlgorithmId.Value;
        AsymmetricAlgorithm key = algorithm == "1.2.840.113549.1.1.1" ? RSA.Create() : ECDsa.Create();
        key.ImportPkcs8PrivateKey(der, out _);
        return key;
    }

    /// <summary>The PBES2 parameters of an ENCRYPTED PRIVATE KEY PEM file (RFC 8018).</summary>
    private sealed record Pbes2Parameters(string KeyDerivation, int Iterations, string PseudoRandomFunction, string Cipher)
    {
        public const string Pbkdf2 = "1.2.840.113549.1.5.12";
        public const string HmacSha256 = "1.2.840.113549.2.9";
        public const string Aes256Cbc = "2.16.840.1.101.3.4.1.42";
        private const string Pbes2 = "1.2.840.113549.1.5.13";

        public static Pbes2Parameters Read(byte[] pemFile)
        {
            var pem = Encoding.ASCII.GetString(pemFile);
            var fields = PemEncoding.Find(pem);
            Assert.Equal("ENCRYPTED PRIVATE KEY", pem[fields.Label]);
            var info = new AsnReader(Convert.FromBase64String(pem[fields.Base64Data]), AsnEncodingRules.DER).ReadSequence();
            var algorithm = info.ReadSequence();
            Assert.Equal(Pbes2, algorithm.ReadObjectIdentifier());
            var pbes2 = algorithm.ReadSequence();
            var derivation = pbes2.ReadSequence();
            var derivationOid = derivation.ReadObjectIdentifier();
            var pbkdf2 = derivation.ReadSequence();
            pbkdf2.ReadOctetString();
            var iterations = (int)pbkdf2.ReadInteger();
            if (pbkdf2.HasData && pbkdf2.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
            {
                pbkdf2.ReadInteger();
            }

            var prf = pbkdf2.HasData ? pbkdf2.ReadSequence().ReadObjectIdentifier() : "1.2.840.113549.2.7";
            var cipher = pbes2.ReadSequence().ReadObjectIdentifier();
            return new Pbes2Parameters(derivationOid, iterations, prf, cipher);
        }
    }
}
