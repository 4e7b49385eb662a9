using System.Security.Cryptography;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// The algorithm policy on S/MIME mail made by the real openssl: broken digests (MD2, MD4, MD5) are refused
/// always, SHA-1 unless the policy accepts it, small signer keys below the policy's minimum, MD5 links in the
/// signer's path; legacy ciphers and CBC without integrity still decrypt but the comment says so. Every
/// outcome carries its facts (signer, digest, key; cipher, integrity).
/// </summary>
public sealed class SmimePolicyTests(SmimeMail mail) : IClassFixture<SmimeMail>
{
    private const string Body = "Policy test body.\nSecond line.\n";
    private const string SupportDetail = "certificate CN=RuleMail Support";

    private static readonly byte[] Md5Oid = [0x06, 0x08, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x02, 0x05];
    private static readonly byte[] Sha256Oid = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
    private static readonly byte[] RsaEncryptionOid = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];

    private MailboxStore Store(params string[] extra) =>
        MailboxStore.With([mail["root.crt"], mail["inter.crt"], .. mail.WithPrivateKey(SmimeMail.Support), .. extra.Select(f => mail[f])]);

    private static SecurityResult Inspect(MailboxStore store, byte[] message, SecurityPolicy? policy = null) =>
        new IncomingSecurity(store.Store, policy).Inspect(IncomingMail.Load(message)).Security;

    private byte[] Signed(string signer, params string[] options) =>
        IncomingMail.WithHeaders(mail.CmsSign(IncomingMail.TextEntity(Body), signer, options), $"{signer}@example.com", MailboxStore.Account);

    private static string Fingerprint(string name) => SmimeMail.LoadCertificate(name).GetCertHashString(HashAlgorithmName.SHA256);

    [Fact]
    public void A_sha256_signature_reports_its_signer_digest_and_key()
    {
        using var store = Store();

        var result = Inspect(store, Signed(SmimeMail.Sam));

        SecurityAssert.Signed(result, SecurityResult.SmimeType);
        Assert.Equal(new SignerFacts("sam@example.com", Fingerprint(SmimeMail.Sam)), result.Sign!.Signer);
        Assert.Equal("sha256", result.Sign.Digest);
        Assert.Equal(new KeyFacts("rsa", 2048), result.Sign.Key);
    }

    [Fact]
    public void The_signer_address_is_the_from_address_the_certificate_matched_not_its_first()
    {
        using var store = Store();
        var signed = mail.CmsSign(IncomingMail.TextEntity(Body), SmimeMail.Sam, "-md", "sha384");

        var result = Inspect(store, IncomingMail.WithHeaders(signed, "Sam.Alias@Example.com", MailboxStore.Account));

        SecurityAssert.Signed(result, SecurityResult.SmimeType);
        Assert.Equal("sam.alias@example.com", result.Sign!.Signer!.Address);
        Assert.Equal("sha384", result.Sign.Digest);
    }

    [Fact]
    public void An_ec_signature_reports_ecdsa_and_the_curve_size()
    {
        using var store = Store();

        var result = Inspect(store, Signed(SmimeMail.Eve, "-md", "sha512"));

        SecurityAssert.Signed(result, SecurityResult.SmimeType);
        Assert.Equal(new KeyFacts("ecdsa", 256), result.Sign!.Key);
        Assert.Equal("sha512", result.Sign.Digest);
    }

    [Fact]
    public void An_md5_signature_is_refused_with_its_facts()
    {
        using var store = Store();

        var result = Inspect(store, Signed(SmimeMail.Sam, "-md", "md5"));

        SecurityAssert.SignFailed(result, SecurityResult.SmimeType, SecurityComments.BrokenDigest("md5"));
        Assert.Equal("md5", result.Sign!.Digest);
        Assert.Equal(new KeyFacts("rsa", 2048), result.Sign.Key);
        Assert.Equal(new SignerFacts("sam@example.com", Fingerprint(SmimeMail.Sam)), result.Sign.Signer);
    }

    [Fact]
    public void An_md5_signature_is_refused_even_when_sha1_and_small_keys_are_accepted()
    {
        using var store = Store();
        var lenient = new SecurityPolicy { AcceptSha1Signatures = true, MinRsaBits = SecurityPolicy.SmallestMinRsaBits };

        var result = Inspect(store, Signed(SmimeMail.Sam, "-md", "md5"), lenient);

        SecurityAssert.SignFailed(result, SecurityResult.SmimeType, SecurityComments.BrokenDigest("md5"));
    }

    [Fact]
    public void An_md4_signature_made_with_the_legacy_provider_is_refused()
    {
        using var store = Store();

        var result = Inspect(store, Signed(SmimeMail.Sam, "-md", "md4", "-provider", "legacy", "-provider", "default"));

        SecurityAssert.SignFailed(result, SecurityResult.SmimeType, SecurityComments.BrokenDigest("md4"));
        Assert.Equal("md4", result.Sign!.Digest);
    }

    [Fact]
    public void An_md2_signature_is_refused_before_the_cryptographic_check()
    {
        // No openssl 3 writes MD2 any more: an MD5 signature with its digest OIDs turned into MD2's (same length).
        // The signature no longer matches anything, so only a policy judged before the check says MD2.
        using var store = Store();
        var der = mail.CmsSign(IncomingMail.TextEntity(Body), SmimeMail.Sam, "-md", "md5", "-outform", "DER");
        var patched = ReplaceAll(der, Md5Oid, [.. Md5Oid[..^1], 0x02]);

        var result = Inspect(store, HandBuiltCms.DetachedMessage(IncomingMail.TextEntity(Body), patched, "sam@example.com", MailboxStore.Account));

        SecurityAssert.SignFailed(result, SecurityResult.SmimeType, SecurityComments.BrokenDigest("md2"));
        Assert.Equal("md2", result.Sign!.Digest);
    }

    [Fact]
    public void An_md5_signature_over_changed_content_says_md5_not_tampered()
    {
        using var store = Store();
        var entity = IncomingMail.TextEntity(Body);
        var der = mail.CmsSign(entity, SmimeMail.Sam, "-md", "md5", "-outform", "DER");

        var result = Inspect(store, HandBuiltCms.DetachedMessage(IncomingMail.TextEntity(Body + "changed\n"), der, "sam@example.com", MailboxStore.Account));

        SecurityAssert.SignFailed(result, SecurityResult.SmimeType, SecurityComments.BrokenDigest("md5"));
    }

    [Fact]
    public void A_sha256_digest_with_an_md5_signature_algorithm_is_refused()
    {
        // The SignerInfo's signatureAlgorithm is the last rsaEncryption OID of a message without certificates.
        using var store = Store("sam.crt");
        var der = mail.CmsSign(IncomingMail.TextEntity(Body), SmimeMail.Sam, "-nocerts", "-outform", "DER");
        var at = der.AsSpan().LastIndexOf(RsaEncryptionOid);
        Assert.True(at > 0, "no rsaEncryption OID in the signature");
        der[at + RsaEncryptionOid.Length - 1] = 0x04;

        var result = Inspect(store, HandBuiltCms.DetachedMessage(IncomingMail.TextEntity(Body), der, "sam@example.com", MailboxStore.Account));

        SecurityAssert.SignFailed(result, SecurityResult.SmimeType, SecurityComments.BrokenDigest("md5"));
        Assert.Equal("sha256", result.Sign!.Digest);
    }

    [Fact]
    public void A_digest_algorithm_nobody_knows_is_unsupported_not_tampered()
    {
        using var store = Store();
        var der = mail.CmsSign(IncomingMail.TextEntity(Body), SmimeMail.Sam, "-outform", "DER");
        var patched = ReplaceAll(der, Sha256Oid, [.. Sha256Oid[..^1], 0x7F]);

        var result = Inspect(store, HandBuiltCms.DetachedMessage(IncomingMail.TextEntity(Body), patched, "sam@example.com", MailboxStore.Account));

        SecurityAssert.SignFailed(result, SecurityResult.SmimeType, SecurityComments.Unsupported("a signature with the digest algorithm 2.16.840.1.101.3.4.2.127"));
        Assert.Equal("2.16.840.1.101.3.4.2.127", result.Sign!.Digest);
    }

    [Fact]
    public void An_md5_signature_by_an_unknown_signer_keeps_the_seed_text()
    {
        using var store = Store();

        var result = Inspect(store, Signed(SmimeMail.Sam, "-md", "md5", "-nocerts"));

        SecurityAssert.SignFailed(result, SecurityResult.SmimeType, SecurityComments.CertificateNotFound);
        Assert.Equal("md5", result.Sign!.Digest);
    }

    [Fact]
    public void A_sha1_signature_is_refused_by_default()
    {
        using var store = Store();

        var result = Inspect(store, Signed(SmimeMail.Sam, "-md", "sha1"));

        SecurityAssert.SignFailed(result, SecurityResult.SmimeType, SecurityComments.Sha1Refused);
        Assert.Equal("sha1", result.Sign!.Digest);
        Assert.Equal(new KeyFacts("rsa", 2048), result.Sign.Key);
    }

    [Fact]
    public void A_sha1_signature_verifies_when_the_policy_accepts_it_and_the_comment_says_sha1()
    {
        using var store = Store();

        var result = Inspect(store, Signed(SmimeMail.Sam, "-md", "sha1"), new SecurityPolicy { AcceptSha1Signatures = true });

        SecurityAssert.Signed(result, SecurityResult.SmimeType);
        Assert.Equal(
            SecurityComments.SignedBy("sam@example.com", "certificate CN=Sam Sender, issued by CN=RuleMail Interop Intermediate CA, O=RuleMail Interop, SHA-1 digest (accepted by security.accept_sha1_signatures)"),
            result.Sign!.Comment);
        Assert.Equal("sha1", result.Sign.Digest);
    }

    [Fact]
    public void An_ecdsa_with_sha1_signature_is_refused_by_default()
    {
        using var store = Store();

        var result = Inspect(store, Signed(SmimeMail.Eve, "-md", "sha1"));

        SecurityAssert.SignFailed(result, SecurityResult.SmimeType, SecurityComments.Sha1Refused);
        Assert.Equal(new KeyFacts("ecdsa", 256), result.Sign!.Key);
    }

    [Fact]
    public void An_rsa_512_signer_is_refused_even_when_the_policy_asks_for_less_than_1024()
    {
        using var store = Store();

        var byDefault = Inspect(store, Signed(SmimeMail.Rsa512));
        var belowFloor = Inspect(store, Signed(SmimeMail.Rsa512), new SecurityPolicy { MinRsaBits = 512 });

        SecurityAssert.SignFailed(byDefault, SecurityResult.SmimeType, SecurityComments.SignerKeyTooSmall("rsa", 512, 2048));
        Assert.Equal(new KeyFacts("rsa", 512), byDefault.Sign!.Key);
        Assert.Equal(new SignerFacts("rsa512@example.com", Fingerprint(SmimeMail.Rsa512)), byDefault.Sign.Signer);
        SecurityAssert.SignFailed(belowFloor, SecurityResult.SmimeType, SecurityComments.SignerKeyTooSmall("rsa", 512, SecurityPolicy.SmallestMinRsaBits));
    }

    [Fact]
    public void An_rsa_1024_signer_is_refused_by_default_and_verifies_when_the_minimum_is_1024()
    {
        using var store = Store();

        var byDefault = Inspect(store, Signed(SmimeMail.Rsa1024));
        var lowered = Inspect(store, Signed(SmimeMail.Rsa1024), new SecurityPolicy { MinRsaBits = 1024 });

        SecurityAssert.SignFailed(byDefault, SecurityResult.SmimeType, SecurityComments.SignerKeyTooSmall("rsa", 1024, 2048));
        SecurityAssert.Signed(lowered, SecurityResult.SmimeType);
        Assert.Equal(new KeyFacts("rsa", 1024), lowered.Sign!.Key);
    }

    [Fact]
    public void A_dsa_1024_signer_is_refused()
    {
        using var store = Store();

        var result = Inspect(store, Signed(SmimeMail.Dsa1024));

        SecurityAssert.SignFailed(result, SecurityResult.SmimeType, SecurityComments.SignerKeyTooSmall("dsa", 1024, 2048));
        Assert.Equal(new KeyFacts("dsa", 1024), result.Sign!.Key);
    }

    [Fact]
    public void A_p192_signer_is_refused()
    {
        using var store = Store();

        var result = Inspect(store, Signed(SmimeMail.P192));

        SecurityAssert.SignFailed(result, SecurityResult.SmimeType, SecurityComments.SignerCurveTooSmall(192, 224));
        Assert.Equal(new KeyFacts("ecdsa", 192), result.Sign!.Key);
    }

    [Fact]
    public void A_signer_certificate_issued_with_md5_is_a_chain_failure()
    {
        using var store = Store();

        var result = Inspect(store, Signed(SmimeMail.Md5Issued));

        SecurityAssert.SignFailed(result, SecurityResult.SmimeType,
            SecurityComments.ChainInvalid("the certificate CN=MD5 Issued is signed with MD5, a broken digest algorithm"));
        Assert.Equal("sha256", result.Sign!.Digest);
    }

    [Fact]
    public void A_root_whose_own_self_signature_uses_md5_still_anchors_a_sha256_path()
    {
        using var store = Store("md5-root.crt");

        var result = Inspect(store, Signed(SmimeMail.Md5RootLeaf));

        SecurityAssert.Signed(result, SecurityResult.SmimeType);
    }

    [Theory]
    [InlineData("-aes128", "aes128-cbc", "AES-128-CBC, without integrity protection")]
    [InlineData("-aes192", "aes192-cbc", "AES-192-CBC, without integrity protection")]
    [InlineData("-aes256", "aes256-cbc", "AES-256-CBC, without integrity protection")]
    [InlineData("-des3", "3des", "3DES (a legacy cipher), without integrity protection")]
    [InlineData("-rc2 -provider legacy -provider default", "rc2", "RC2 (a legacy cipher), without integrity protection")]
    [InlineData("-des -provider legacy -provider default", "des", "DES (a legacy cipher), without integrity protection")]
    public void Enveloped_data_decrypts_and_names_its_cipher_and_the_missing_integrity(string options, string cipher, string detail)
    {
        using var store = Store();
        var encrypted = mail.OpenSsl(IncomingMail.TextEntity(Body), ["cms", "-encrypt", .. options.Split(' '), "-recip", mail.Certificate(SmimeMail.Support)]);

        var result = Inspect(store, IncomingMail.WithHeaders(encrypted, "sam@example.com", MailboxStore.Account));

        Assert.Equal(SecurityComments.DecryptedFor(MailboxStore.Account, $"{SupportDetail}, {detail}"), result.Encryption!.Comment);
        Assert.True(result.Encryption.Success);
        Assert.Equal(cipher, result.Encryption.Cipher);
        Assert.Equal(Integrity.None, result.Encryption.Integrity);
    }

    [Theory]
    [InlineData("-aes-128-gcm", "aes128-gcm", "AES-128-GCM")]
    [InlineData("-aes-256-gcm", "aes256-gcm", "AES-256-GCM")]
    public void AuthEnveloped_data_decrypts_as_aead(string option, string cipher, string detail)
    {
        using var store = Store();
        var encrypted = mail.CmsEncrypt(IncomingMail.TextEntity(Body), SmimeMail.Support, option);

        var result = Inspect(store, IncomingMail.WithHeaders(encrypted, "sam@example.com", MailboxStore.Account));

        Assert.Equal(SecurityComments.DecryptedFor(MailboxStore.Account, $"{SupportDetail}, {detail}"), result.Encryption!.Comment);
        Assert.True(result.Encryption.Success);
        Assert.Equal(cipher, result.Encryption.Cipher);
        Assert.Equal(Integrity.Aead, result.Encryption.Integrity);
    }

    [Theory]
    [InlineData("-aes256", "aes256-cbc", Integrity.None)]
    [InlineData("-aes-256-gcm", "aes256-gcm", Integrity.Aead)]
    public void A_message_for_someone_else_keeps_the_seed_text_and_still_names_its_cipher(string option, string cipher, string integrity)
    {
        using var store = Store();
        var encrypted = mail.CmsEncrypt(IncomingMail.TextEntity(Body), SmimeMail.Stranger, option);

        var result = Inspect(store, IncomingMail.WithHeaders(encrypted, "sam@example.com", MailboxStore.Account));

        SecurityAssert.DecryptionFailed(result, SecurityResult.SmimeType, SecurityComments.PrivateKeyNotFound);
        Assert.Equal(cipher, result.Encryption!.Cipher);
        Assert.Equal(integrity, result.Encryption.Integrity);
    }

    private static byte[] ReplaceAll(byte[] data, byte[] find, byte[] replacement)
    {
        var copy = data.ToArray();
        var found = 0;
        for (var at = copy.AsSpan().IndexOf(find); at >= 0; at = copy.AsSpan().IndexOf(find))
        {
            replacement.CopyTo(copy, at);
            found++;
        }

        Assert.True(found > 0, "nothing to replace");
        return copy;
    }
}
