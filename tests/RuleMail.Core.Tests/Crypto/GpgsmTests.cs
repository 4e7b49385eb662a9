using System.Text;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// S/MIME made by gpgsm (what KMail, Mutt and other GnuPG-based clients send), wrapped in MIME the way those
/// clients do: gpgsm writes bare CMS (BER with indefinite lengths), never MIME.
/// </summary>
public sealed class GpgsmTests(GpgSm gpgsm) : IClassFixture<GpgSm>
{
    private const string Body = "Sent with a GnuPG-based mail client.\nSecond line.\n";
    private const string Crlf = IncomingMail.Crlf;
    private const string Smime = SecurityResult.SmimeType;

    [Fact]
    public void A_detached_signature_made_by_gpgsm_verifies()
    {
        using var store = Store();
        var part = IncomingMail.TextEntity(Body, "quoted-printable");
        var message = IncomingMail.WithHeaders(MultipartSigned(part, gpgsm.DetachSign(part)), "sam@example.com", MailboxStore.Account);

        var report = store.Inspect(message);

        SecurityAssert.Signed(report.Security, Smime);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
    }

    [Fact]
    public void A_detached_signature_made_by_gpgsm_over_text_changed_afterwards_is_tampered()
    {
        using var store = Store();
        var part = IncomingMail.TextEntity(Body, "quoted-printable");
        var signature = gpgsm.DetachSign(part);
        var changed = Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(part).Replace("Second line", "Second lime", StringComparison.Ordinal));
        var message = IncomingMail.WithHeaders(MultipartSigned(changed, signature), "sam@example.com", MailboxStore.Account);

        var report = store.Inspect(message);

        SecurityAssert.SignFailed(report.Security, Smime, SecurityComments.Tampered);
    }

    [Fact]
    public void An_opaque_signed_data_message_made_by_gpgsm_in_indefinite_length_ber_verifies()
    {
        using var store = Store();
        var der = gpgsm.Sign(IncomingMail.TextEntity(Body));
        Assert.Equal([0x30, 0x80], der[..2]);
        var message = IncomingMail.WithHeaders(Pkcs7Mime("signed-data", der), "sam@example.com", MailboxStore.Account);

        var report = store.Inspect(message);

        SecurityAssert.Signed(report.Security, Smime);
    }

    [Fact]
    public void A_message_encrypted_by_gpgsm_is_decrypted()
    {
        using var store = Store();
        var encrypted = gpgsm.Encrypt(IncomingMail.TextEntity(Body));
        var message = IncomingMail.WithHeaders(Pkcs7Mime("enveloped-data", encrypted), "sam@example.com", MailboxStore.Account, "From gpgsm");

        var report = store.Inspect(message);

        SecurityAssert.Decrypted(report.Security, Smime);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
        Assert.Equal("From gpgsm", report.Message.Subject);
    }

    [Fact]
    public void A_message_signed_then_encrypted_by_gpgsm_is_decrypted_and_verified()
    {
        using var store = Store();
        var part = IncomingMail.TextEntity(Body, "quoted-printable");
        var encrypted = gpgsm.Encrypt(MultipartSigned(part, gpgsm.DetachSign(part)));
        var message = IncomingMail.WithHeaders(Pkcs7Mime("enveloped-data", encrypted), "sam@example.com", MailboxStore.Account);

        var report = store.Inspect(message);

        SecurityAssert.Decrypted(report.Security, Smime);
        SecurityAssert.Signed(report.Security, Smime);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
    }

    private static MailboxStore Store() => MailboxStore.With(
        File("root.crt"), File("inter.crt"), File("support.crt"), File("support.key"));

    private static RuleMail.Keys.ImportFile File(string name) => new(name, SmimeMail.Files[name]);

    private static byte[] MultipartSigned(byte[] part, byte[] signature)
    {
        const string Boundary = "gpgsm-signed-boundary";
        return [
            .. Encoding.ASCII.GetBytes(
                $"MIME-Version: 1.0{Crlf}Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"{Boundary}\"{Crlf}{Crlf}" +
                "--" + Boundary + Crlf),
            .. part,
            .. Encoding.ASCII.GetBytes(
                Crlf + "--" + Boundary + Crlf +
                "Content-Type: application/pkcs7-signature; name=smime.p7s" + Crlf +
                "Content-Transfer-Encoding: base64" + Crlf + "Content-Disposition: attachment; filename=smime.p7s" + Crlf + Crlf +
                Convert.ToBase64String(signature, Base64FormattingOptions.InsertLineBreaks) + Crlf +
                "--" + Boundary + "--" + Crlf),
        ];
    }

    private static byte[] Pkcs7Mime(string smimeType, byte[] der) =>
        Encoding.ASCII.GetBytes(
            $"MIME-Version: 1.0{Crlf}Content-Type: application/pkcs7-mime; smime-type={smimeType}; name=smime.p7m{Crlf}" +
            $"Content-Transfer-Encoding: base64{Crlf}Content-Disposition: attachment; filename=smime.p7m{Crlf}{Crlf}" +
            Convert.ToBase64String(der, Base64FormattingOptions.InsertLineBreaks) + Crlf);
}
