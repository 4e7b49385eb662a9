using System.Text;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// The algorithm policy for OpenPGP (security: in rulemail.yaml) and the facts the result carries for rules: digests,
/// signer key sizes and ciphers made by the real gpg where it makes them, an RSA-512 key by BouncyCastle where it does not.
/// </summary>
public sealed class PgpPolicyTests(PgpMail gpg) : IClassFixture<PgpMail>
{
    private const string Pgp = SecurityResult.PgpType;
    private const string Body = "Please reset the password of account 4711.\n";

    [Fact]
    public void A_sha1_signature_is_refused_by_default_and_still_names_its_facts()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Paul));

        var report = store.Inspect(SignedBy(PgpMail.Paul, "SHA1"));

        SecurityAssert.SignFailed(report.Security, Pgp, SecurityComments.Sha1Refused);
        Assert.Equal("sha1", report.Security.Sign!.Digest);
        Assert.Equal(new KeyFacts("rsa", 2048), report.Security.Sign.Key);
        Assert.Equal(new SignerFacts(PgpMail.Address(PgpMail.Paul), PgpMail.Key(PgpMail.Paul).Fingerprint), report.Security.Sign.Signer);
    }

    [Fact]
    public void A_sha1_signature_verifies_when_the_policy_accepts_sha1()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Paul));

        var report = Inspect(store, SignedBy(PgpMail.Paul, "SHA1"), SecurityPolicy.Default with { AcceptSha1Signatures = true });

        SecurityAssert.Signed(report.Security, Pgp);
        Assert.Equal("sha1", report.Security.Sign!.Digest);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_md5_signature_is_refused_always(bool acceptSha1)
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Paul));

        var report = Inspect(store, SignedBy(PgpMail.Paul, "MD5", "--allow-weak-digest-algos"), SecurityPolicy.Default with { AcceptSha1Signatures = acceptSha1 });

        SecurityAssert.SignFailed(report.Security, Pgp, SecurityComments.BrokenDigest("md5"));
        Assert.Equal("md5", report.Security.Sign!.Digest);
    }

    [Fact]
    public void A_cleartext_sha1_signature_is_refused_too()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Erik));
        var clearSigned = gpg.Gpg(Encoding.UTF8.GetBytes(Body), "--digest-algo", "SHA1", "--local-user", PgpMail.Address(PgpMail.Erik), "--clearsign");

        var report = store.Inspect(IncomingMail.WithHeaders(IncomingMail.InlineText(clearSigned), PgpMail.Address(PgpMail.Erik), MailboxStore.Account));

        SecurityAssert.SignFailed(report.Security, Pgp, SecurityComments.Sha1Refused);
    }

    [Theory]
    [InlineData(2048, false)]
    [InlineData(1024, true)]
    public void An_rsa_1024_signer_is_refused_below_min_rsa_bits(int minRsaBits, bool verifies)
    {
        using var home = new GnuPG();
        var fingerprint = home.GenerateKey("Rolf Small <rolf@example.net>", "rsa1024", "sign", "1y", string.Empty);
        using var store = new MailboxStore().Import(new ImportFile("rolf.asc", home.ExportPublic(fingerprint, armor: true)));
        var content = IncomingMail.TextEntity(Body);
        var signature = home.Run(content, "--armor", "--digest-algo", "SHA256", "--local-user", fingerprint, "--detach-sign").StandardOutput;

        var report = Inspect(store, IncomingMail.WithHeaders(IncomingMail.PgpSigned(content, signature), "rolf@example.net", MailboxStore.Account), SecurityPolicy.Default with { MinRsaBits = minRsaBits });

        if (verifies)
        {
            SecurityAssert.Signed(report.Security, Pgp);
        }
        else
        {
            SecurityAssert.SignFailed(report.Security, Pgp, SecurityComments.SignerKeyTooSmall("rsa", 1024, 2048));
        }

        Assert.Equal(new KeyFacts("rsa", 1024), report.Security.Sign!.Key);
        Assert.Equal(new SignerFacts("rolf@example.net", fingerprint), report.Security.Sign.Signer);
    }

    [Fact]
    public void An_rsa_512_signer_is_refused_even_at_the_smallest_min_rsa_bits()
    {
        var (publicRing, privateKey) = Rsa512Key("Tiny Key <tiny@example.net>");
        using var store = new MailboxStore().Import(new ImportFile("tiny.asc", Support.Pgp.Armor(publicRing.GetEncoded())));
        var content = IncomingMail.TextEntity(Body);
        var generator = new PgpSignatureGenerator(PublicKeyAlgorithmTag.RsaGeneral, HashAlgorithmTag.Sha256);
        generator.InitSign(PgpSignature.BinaryDocument, privateKey);
        generator.Update(content);
        var signature = Support.Pgp.Armor(generator.Generate().GetEncoded());
        var message = IncomingMail.WithHeaders(IncomingMail.PgpSigned(content, signature), "tiny@example.net", MailboxStore.Account);

        var report = Inspect(store, message, SecurityPolicy.Default with { MinRsaBits = SecurityPolicy.SmallestMinRsaBits });

        SecurityAssert.SignFailed(report.Security, Pgp, SecurityComments.SignerKeyTooSmall("rsa", 512, SecurityPolicy.SmallestMinRsaBits));
        Assert.Equal(new KeyFacts("rsa", 512), report.Security.Sign!.Key);
    }

    [Fact]
    public void An_ed25519_signature_is_good_and_names_its_curve()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Erik));

        var report = store.Inspect(SignedBy(PgpMail.Erik, "SHA512"));

        SecurityAssert.Signed(report.Security, Pgp);
        Assert.Equal("sha512", report.Security.Sign!.Digest);
        Assert.Equal(new KeyFacts("ed25519", 255), report.Security.Sign.Key);
        Assert.Equal(new SignerFacts(PgpMail.Address(PgpMail.Erik), PgpMail.Key(PgpMail.Erik).Fingerprint), report.Security.Sign.Signer);
    }

    [Fact]
    public void A_signed_and_encrypted_message_carries_every_fact()
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support), gpg.Public(PgpMail.Paul));
        var armored = gpg.SignAndEncrypt(PgpMail.Paul, PgpMail.Support, IncomingMail.TextEntity(Body));

        var report = store.Inspect(IncomingMail.WithHeaders(IncomingMail.PgpEncrypted(armored), PgpMail.Address(PgpMail.Paul), MailboxStore.Account), MailboxStore.Account);

        SecurityAssert.Decrypted(report.Security, Pgp);
        SecurityAssert.Signed(report.Security, Pgp);
        Assert.Equal("aes256", report.Security.Encryption!.Cipher);
        Assert.Equal(Integrity.Mdc, report.Security.Encryption.Integrity);
        Assert.Equal("sha256", report.Security.Sign!.Digest);
        Assert.Equal(new KeyFacts("rsa", 2048), report.Security.Sign.Key);
        Assert.Equal(new SignerFacts(PgpMail.Address(PgpMail.Paul), PgpMail.Key(PgpMail.Paul).Fingerprint), report.Security.Sign.Signer);
    }

    [Theory]
    [InlineData("CAST5", "cast5", "CAST5")]
    [InlineData("3DES", "3des", "3DES")]
    [InlineData("BLOWFISH", "blowfish", "Blowfish")]
    [InlineData("AES128", "aes128", null)]
    [InlineData("CAMELLIA256", "camellia256", null)]
    public void A_legacy_cipher_still_decrypts_but_the_comment_says_so(string gpgCipher, string cipher, string? legacy)
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var armored = gpg.Encrypt(PgpMail.Support, IncomingMail.TextEntity(Body), "--cipher-algo", gpgCipher);

        var report = store.Inspect(IncomingMail.WithHeaders(IncomingMail.PgpEncrypted(armored), "paul@example.net", MailboxStore.Account), MailboxStore.Account);

        SecurityAssert.Decrypted(report.Security, Pgp);
        Assert.Equal(cipher, report.Security.Encryption!.Cipher);
        Assert.Equal(Integrity.Mdc, report.Security.Encryption.Integrity);
        var key = $"PGP key {PgpMail.Key(PgpMail.Support).Fingerprint}";
        Assert.Equal(
            SecurityComments.DecryptedFor(PgpMail.Address(PgpMail.Support), legacy is null ? key : $"{key}; legacy cipher {legacy}"),
            report.Security.Encryption.Comment);
    }

    [Fact]
    public void A_message_without_integrity_protection_says_its_integrity_is_none()
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var armored = gpg.Encrypt(PgpMail.Support, IncomingMail.TextEntity(Body), "--rfc2440");

        var report = store.Inspect(IncomingMail.WithHeaders(IncomingMail.PgpEncrypted(armored), "paul@example.net", MailboxStore.Account), MailboxStore.Account);

        SecurityAssert.DecryptionFailed(report.Security, Pgp, SecurityComments.NoIntegrityProtection);
        Assert.Equal(Integrity.None, report.Security.Encryption!.Integrity);
    }

    private byte[] SignedBy(string signer, string digest, params string[] options)
    {
        var content = IncomingMail.TextEntity(Body);
        var signature = gpg.Gpg(content, ["--armor", "--digest-algo", digest, .. options, "--local-user", PgpMail.Address(signer), "--detach-sign"]);
        return IncomingMail.WithHeaders(IncomingMail.PgpSigned(content, signature, "pgp-" + digest.ToLowerInvariant()), PgpMail.Address(signer), MailboxStore.Account);
    }

    private static IncomingReport Inspect(MailboxStore store, byte[] message, SecurityPolicy policy) =>
        new IncomingSecurity(store.Store, policy).Inspect(IncomingMail.Load(message), MailboxStore.Account);

    /// <summary>An RSA-512 signing key with one self-certified user ID, made an hour ago (gpg refuses to make one).</summary>
    private static (PgpPublicKeyRing PublicRing, PgpPrivateKey PrivateKey) Rsa512Key(string userId)
    {
        var random = new SecureRandom();
        var rsa = new RsaKeyPairGenerator();
        rsa.Init(new RsaKeyGenerationParameters(BigInteger.ValueOf(65537), random, 512, 25));
        var pair = new PgpKeyPair(PublicKeyAlgorithmTag.RsaGeneral, rsa.GenerateKeyPair(), TimeProvider.System.GetUtcNow().UtcDateTime.AddHours(-1));
        var subpackets = new PgpSignatureSubpacketGenerator();
        subpackets.SetKeyFlags(false, PgpKeyFlags.CanSign | PgpKeyFlags.CanCertify);
        var rings = new PgpKeyRingGenerator(
            PgpSignature.PositiveCertification, pair, userId, SymmetricKeyAlgorithmTag.Aes256, Array.Empty<char>(), true, subpackets.Generate(), null, random);
        return (rings.GeneratePublicKeyRing(), pair.PrivateKey);
    }
}
