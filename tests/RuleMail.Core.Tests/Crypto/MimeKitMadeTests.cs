using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.OpenSsl;
using Org.BouncyCastle.X509;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// S/MIME made by MimeKit's own BouncyCastle context (what .NET senders such as other RuleMail installations
/// write), with the openssl-made certificates: detached and opaque signatures, enveloped data with PKCS#1 v1.5
/// and OAEP-SHA256 key transport, and MimeKit's sign-and-encrypt. Serialized and parsed again before inspection.
/// </summary>
public sealed class MimeKitMadeTests
{
    private const string Body = "Made by MimeKit.\nSecond line.\n";
    private const string Smime = SecurityResult.SmimeType;

    [Fact]
    public void A_multipart_signed_message_made_by_mimekit_verifies()
    {
        using var store = Store();
        using var context = new TemporarySecureMimeContext();

        var report = store.Inspect(Serialize(MultipartSigned.Create(context, Signer(), Text())));

        SecurityAssert.Signed(report.Security, Smime);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
    }

    [Fact]
    public void An_opaque_signed_message_made_by_mimekit_verifies()
    {
        using var store = Store();
        using var context = new TemporarySecureMimeContext();

        var report = store.Inspect(Serialize(ApplicationPkcs7Mime.Sign(context, Signer(), Text())));

        SecurityAssert.Signed(report.Security, Smime);
    }

    [Theory]
    [InlineData("PKCS#1 v1.5")]
    [InlineData("OAEP-SHA256")]
    public void A_message_encrypted_by_mimekit_is_decrypted(string padding)
    {
        using var store = Store();
        using var context = new TemporarySecureMimeContext();
        var recipient = new CmsRecipient(Certificate("support.crt"))
        {
            RsaEncryptionPadding = padding == "OAEP-SHA256" ? RsaEncryptionPadding.OaepSha256 : RsaEncryptionPadding.Pkcs1,
        };

        var report = store.Inspect(Serialize(ApplicationPkcs7Mime.Encrypt(context, [recipient], Text())));

        SecurityAssert.Decrypted(report.Security, Smime);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
    }

    [Fact]
    public void A_message_signed_and_encrypted_by_mimekit_is_decrypted_and_verified()
    {
        using var store = Store();
        using var context = new TemporarySecureMimeContext();

        var entity = ApplicationPkcs7Mime.SignAndEncrypt(context, Signer(), [new CmsRecipient(Certificate("support.crt"))], Text());
        var report = store.Inspect(Serialize(entity));

        SecurityAssert.Decrypted(report.Security, Smime);
        SecurityAssert.Signed(report.Security, Smime);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
    }

    private static MailboxStore Store() => MailboxStore.With(File("root.crt"), File("support.crt"), File("support.key"));

    private static RuleMail.Keys.ImportFile File(string name) => new(name, SmimeMail.Files[name]);

    private static TextPart Text() => new("plain") { Text = Body };

    /// <summary>sam, with the intermediate in the signature so the chain reaches the root the store trusts.</summary>
    private static CmsSigner Signer() =>
        new([Certificate("sam.crt"), Certificate("inter.crt")], PrivateKey("sam.key")) { DigestAlgorithm = DigestAlgorithm.Sha256 };

    private static X509Certificate Certificate(string name) => new X509CertificateParser().ReadCertificate(SmimeMail.Files[name]);

    private static AsymmetricKeyParameter PrivateKey(string name)
    {
        using var reader = new StringReader(System.Text.Encoding.ASCII.GetString(SmimeMail.Files[name]));
        return new PemReader(reader).ReadObject() switch
        {
            AsymmetricCipherKeyPair pair => pair.Private,
            AsymmetricKeyParameter key => key,
            var other => throw new InvalidOperationException($"{name} holds {other?.GetType().Name ?? "nothing"}, not a private key"),
        };
    }

    private static byte[] Serialize(MimeEntity body)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Sam Sender", "sam@example.com"));
        message.To.Add(new MailboxAddress("Support", MailboxStore.Account));
        message.Subject = "Made by MimeKit";
        message.Body = body;
        return IncomingMail.Serialize(message);
    }
}
