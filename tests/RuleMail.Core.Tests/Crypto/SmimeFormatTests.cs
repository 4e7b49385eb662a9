using System.Text;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// Every S/MIME shape openssl writes is read: detached and opaque signatures from <c>openssl smime</c> (the
/// x-pkcs7 content types) and <c>openssl cms</c> (the pkcs7 ones), enveloped and AES-GCM authEnveloped data,
/// PKCS#1 v1.5 and OAEP key transport, RSA and EC signers, and both shapes of signed-then-encrypted mail.
/// The store trusts the root CA and holds the intermediate and the account's own certificate and key.
/// </summary>
public sealed class SmimeFormatTests(SmimeMail mail) : IClassFixture<SmimeMail>
{
    private const string Body = "Hello from the interop suite.\nSecond line of the message.\n";

    private MailboxStore Store() => MailboxStore.With([mail["root.crt"], mail["inter.crt"], .. mail.WithPrivateKey(SmimeMail.Support)]);

    [Theory]
    [InlineData("smime", SmimeMail.Sam, "application/x-pkcs7-signature")]
    [InlineData("smime", SmimeMail.Eve, "application/x-pkcs7-signature")]
    [InlineData("cms", SmimeMail.Sam, "application/pkcs7-signature")]
    [InlineData("cms", SmimeMail.Eve, "application/pkcs7-signature")]
    public void A_detached_signature_made_by_openssl_verifies(string command, string signer, string protocol)
    {
        using var store = Store();
        var entity = IncomingMail.TextEntity(Body);
        var signed = command == "smime" ? mail.SmimeSign(entity, signer) : mail.CmsSign(entity, signer);
        var message = IncomingMail.Load(IncomingMail.WithHeaders(signed, $"{signer}@example.com", MailboxStore.Account));
        Assert.Equal("multipart/signed", IncomingMail.BodyType(message).MimeType);
        Assert.Equal(protocol, IncomingMail.BodyType(message).Parameters["protocol"]);

        var report = store.Inspect(message);

        SecurityAssert.Signed(report.Security, SecurityResult.SmimeType);
        Assert.Null(report.Security.Encryption);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
    }

    [Theory]
    [InlineData("smime", SmimeMail.Sam, "application/x-pkcs7-mime")]
    [InlineData("smime", SmimeMail.Eve, "application/x-pkcs7-mime")]
    [InlineData("cms", SmimeMail.Sam, "application/pkcs7-mime")]
    [InlineData("cms", SmimeMail.Eve, "application/pkcs7-mime")]
    public void An_opaque_signed_data_message_made_by_openssl_verifies(string command, string signer, string mimeType)
    {
        using var store = Store();
        var entity = IncomingMail.TextEntity(Body);
        var signed = command == "smime" ? mail.SmimeSign(entity, signer, "-nodetach") : mail.CmsSign(entity, signer, "-nodetach");
        var message = IncomingMail.Load(IncomingMail.WithHeaders(signed, $"{signer}@example.com", MailboxStore.Account));
        Assert.Equal(mimeType, IncomingMail.BodyType(message).MimeType);
        Assert.Equal("signed-data", IncomingMail.BodyType(message).Parameters["smime-type"]);

        var report = store.Inspect(message);

        SecurityAssert.Signed(report.Security, SecurityResult.SmimeType);
        Assert.Null(report.Security.Encryption);
    }

    [Theory]
    [InlineData("smime -encrypt -aes256", "application/x-pkcs7-mime", "enveloped-data")]
    [InlineData("cms -encrypt -aes256", "application/pkcs7-mime", "enveloped-data")]
    [InlineData("cms -encrypt -aes128", "application/pkcs7-mime", "enveloped-data")]
    [InlineData("cms -encrypt -aes256 -keyopt rsa_padding_mode:oaep", "application/pkcs7-mime", "enveloped-data")]
    [InlineData("cms -encrypt -aes-256-gcm", "application/pkcs7-mime", "authEnveloped-data")]
    [InlineData("cms -encrypt -aes-128-gcm -keyopt rsa_padding_mode:oaep", "application/pkcs7-mime", "authEnveloped-data")]
    public void A_message_encrypted_by_openssl_for_the_account_is_decrypted_and_keeps_its_headers(string how, string mimeType, string smimeType)
    {
        using var store = Store();
        var entity = IncomingMail.TextEntity(Body);
        var encrypted = Encrypt(how, entity, SmimeMail.Support);
        var message = IncomingMail.Load(IncomingMail.WithHeaders(encrypted, "Sam Sender <sam@example.com>", MailboxStore.Account, "Encrypted subject"));
        Assert.Equal(mimeType, IncomingMail.BodyType(message).MimeType);
        Assert.Equal(smimeType, IncomingMail.BodyType(message).Parameters["smime-type"]);

        var report = store.Inspect(message);

        SecurityAssert.Decrypted(report.Security, SecurityResult.SmimeType);
        Assert.Null(report.Security.Sign);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
        Assert.Equal("sam@example.com", report.Message.From.Mailboxes.Single().Address);
        Assert.Equal(MailboxStore.Account, report.Message.To.Mailboxes.Single().Address);
        Assert.Equal("Encrypted subject", report.Message.Subject);
    }

    [Fact]
    public void A_message_encrypted_for_several_recipients_is_decrypted_with_the_accounts_key()
    {
        using var store = Store();
        var entity = IncomingMail.TextEntity(Body);
        var encrypted = mail.OpenSsl(entity, "smime", "-encrypt", "-aes256", mail.Certificate(SmimeMail.Stranger), mail.Certificate(SmimeMail.Support));
        var message = IncomingMail.WithHeaders(encrypted, "sam@example.com", $"stranger@example.com, {MailboxStore.Account}");

        var report = store.Inspect(message);

        SecurityAssert.Decrypted(report.Security, SecurityResult.SmimeType);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
    }

    [Theory]
    [InlineData(SmimeMail.Sam)]
    [InlineData(SmimeMail.Eve)]
    public void A_multipart_signed_message_inside_enveloped_data_is_decrypted_and_verified(string signer)
    {
        using var store = Store();
        var signed = mail.SmimeSign(IncomingMail.TextEntity(Body), signer);
        var encrypted = mail.SmimeEncrypt(signed, SmimeMail.Support);
        var message = IncomingMail.WithHeaders(encrypted, $"{signer}@example.com", MailboxStore.Account, "Signed and encrypted");

        var report = store.Inspect(message);

        SecurityAssert.Decrypted(report.Security, SecurityResult.SmimeType);
        SecurityAssert.Signed(report.Security, SecurityResult.SmimeType);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
        Assert.Equal("Signed and encrypted", report.Message.Subject);
    }

    [Theory]
    [InlineData(SmimeMail.Sam)]
    [InlineData(SmimeMail.Eve)]
    public void An_opaque_signed_message_inside_enveloped_data_as_outlook_sends_it_is_decrypted_verified_and_unwrapped(string signer)
    {
        using var store = Store();
        var signed = mail.CmsSign(IncomingMail.TextEntity(Body), signer, "-nodetach");
        var encrypted = mail.CmsEncrypt(signed, SmimeMail.Support);
        var message = IncomingMail.WithHeaders(encrypted, $"{signer}@example.com", MailboxStore.Account, "Outlook style");

        var report = store.Inspect(message);

        SecurityAssert.Decrypted(report.Security, SecurityResult.SmimeType);
        SecurityAssert.Signed(report.Security, SecurityResult.SmimeType);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
        Assert.Equal("Outlook style", report.Message.Subject);
    }

    [Fact]
    public void A_signed_then_encrypted_message_written_with_crlf_line_ends_is_decrypted_and_verified()
    {
        using var store = Store();
        var signed = mail.SmimeSign(IncomingMail.TextEntity(Body), SmimeMail.Sam, "-crlfeol");
        var encrypted = mail.OpenSsl(signed, "smime", "-encrypt", "-aes256", "-crlfeol", mail.Certificate(SmimeMail.Support));
        Assert.Contains("\r\n", Encoding.ASCII.GetString(encrypted), StringComparison.Ordinal);
        var message = IncomingMail.WithHeaders(encrypted, "sam@example.com", MailboxStore.Account);

        var report = store.Inspect(message);

        SecurityAssert.Decrypted(report.Security, SecurityResult.SmimeType);
        SecurityAssert.Signed(report.Security, SecurityResult.SmimeType);
    }

    private byte[] Encrypt(string how, byte[] entity, string recipient)
    {
        var words = how.Split(' ');
        var keyOptions = words.SkipWhile(w => w != "-keyopt").ToArray();
        var command = words.TakeWhile(w => w != "-keyopt").ToArray();
        string[] arguments = command[0] == "smime"
            ? [.. command, mail.Certificate(recipient)]
            : [.. command, "-recip", mail.Certificate(recipient), .. keyOptions];
        return mail.OpenSsl(entity, arguments);
    }
}
