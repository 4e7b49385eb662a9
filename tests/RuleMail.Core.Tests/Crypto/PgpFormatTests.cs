using System.Text;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// Every OpenPGP shape gpg output is sent in is read: RFC 3156 multipart/encrypted and multipart/signed,
/// one message both signed and encrypted, multipart/signed nested in multipart/encrypted, and inline PGP
/// (an armored message or a cleartext-signed block as the whole text/plain body); RSA and Ed25519/Cv25519.
/// The store holds the account's secret keys (support: RSA, desk: Cv25519) and the senders' public keys.
/// </summary>
public sealed class PgpFormatTests(PgpMail gpg) : IClassFixture<PgpMail>
{
    private const string Body = "Hello from the OpenPGP interop suite.\nSecond line.\n";
    private const string Pgp = SecurityResult.PgpType;

    private MailboxStore Store() => MailboxStore.With(
        gpg.Secret(PgpMail.Support), gpg.Secret(PgpMail.Desk), gpg.Public(PgpMail.Paul), gpg.Public(PgpMail.Erik));

    [Theory]
    [InlineData(PgpMail.Support)]
    [InlineData(PgpMail.Desk)]
    public void A_pgp_mime_encrypted_message_is_decrypted_and_keeps_its_headers(string recipient)
    {
        using var store = Store();
        var armored = gpg.Encrypt(recipient, IncomingMail.TextEntity(Body));
        var message = IncomingMail.Load(IncomingMail.WithHeaders(
            IncomingMail.PgpEncrypted(armored), "Paul Sender <paul@example.net>", PgpMail.Address(recipient), "Encrypted subject"));
        Assert.Equal("multipart/encrypted", IncomingMail.BodyType(message).MimeType);

        var report = store.Inspect(message);

        SecurityAssert.Decrypted(report.Security, Pgp);
        Assert.Null(report.Security.Sign);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
        Assert.Equal("paul@example.net", report.Message.From.Mailboxes.Single().Address);
        Assert.Equal(PgpMail.Address(recipient), report.Message.To.Mailboxes.Single().Address);
        Assert.Equal("Encrypted subject", report.Message.Subject);
    }

    [Theory]
    [InlineData(PgpMail.Paul, false)]
    [InlineData(PgpMail.Paul, true)]
    [InlineData(PgpMail.Erik, false)]
    [InlineData(PgpMail.Erik, true)]
    public void A_pgp_mime_signed_message_verifies(string signer, bool textMode)
    {
        using var store = Store();
        var part = IncomingMail.TextEntity(Body, "quoted-printable");
        var signature = gpg.DetachSign(signer, part, textMode);
        var message = IncomingMail.Load(IncomingMail.WithHeaders(IncomingMail.PgpSigned(part, signature), PgpMail.Address(signer), MailboxStore.Account));
        Assert.Equal("application/pgp-signature", IncomingMail.BodyType(message).Parameters["protocol"]);

        var report = store.Inspect(message);

        SecurityAssert.Signed(report.Security, Pgp);
        Assert.Null(report.Security.Encryption);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
    }

    [Theory]
    [InlineData(PgpMail.Paul, PgpMail.Support)]
    [InlineData(PgpMail.Erik, PgpMail.Desk)]
    public void A_message_gpg_signed_and_encrypted_in_one_go_is_decrypted_and_verified(string signer, string recipient)
    {
        using var store = Store();
        var armored = gpg.SignAndEncrypt(signer, recipient, IncomingMail.TextEntity(Body));
        var message = IncomingMail.WithHeaders(IncomingMail.PgpEncrypted(armored), PgpMail.Address(signer), PgpMail.Address(recipient));

        var report = store.Inspect(message);

        SecurityAssert.Decrypted(report.Security, Pgp);
        SecurityAssert.Signed(report.Security, Pgp);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
    }

    [Theory]
    [InlineData(PgpMail.Paul, PgpMail.Support)]
    [InlineData(PgpMail.Erik, PgpMail.Desk)]
    public void A_pgp_mime_signed_message_nested_in_a_pgp_mime_encrypted_one_is_decrypted_and_verified(string signer, string recipient)
    {
        using var store = Store();
        var part = IncomingMail.TextEntity(Body, "quoted-printable");
        var signed = IncomingMail.PgpSigned(part, gpg.DetachSign(signer, part));
        var armored = gpg.Encrypt(recipient, signed);
        var message = IncomingMail.WithHeaders(IncomingMail.PgpEncrypted(armored), PgpMail.Address(signer), PgpMail.Address(recipient), "Nested");

        var report = store.Inspect(message);

        SecurityAssert.Decrypted(report.Security, Pgp);
        SecurityAssert.Signed(report.Security, Pgp);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
        Assert.Equal("Nested", report.Message.Subject);
    }

    [Theory]
    [InlineData(PgpMail.Support)]
    [InlineData(PgpMail.Desk)]
    public void An_inline_pgp_message_as_the_whole_text_body_is_decrypted_to_its_text(string recipient)
    {
        using var store = Store();
        var armored = gpg.Encrypt(recipient, Encoding.UTF8.GetBytes(Body));
        var message = IncomingMail.WithHeaders(IncomingMail.InlineText(armored), "paul@example.net", PgpMail.Address(recipient), "Inline");

        var report = store.Inspect(message);

        SecurityAssert.Decrypted(report.Security, Pgp);
        Assert.Null(report.Security.Sign);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
        Assert.Equal("Inline", report.Message.Subject);
    }

    [Fact]
    public void An_inline_pgp_message_signed_and_encrypted_is_decrypted_and_verified()
    {
        using var store = Store();
        var armored = gpg.SignAndEncrypt(PgpMail.Erik, PgpMail.Support, Encoding.UTF8.GetBytes(Body));
        var message = IncomingMail.WithHeaders(IncomingMail.InlineText(armored), "erik@example.net", MailboxStore.Account);

        var report = store.Inspect(message);

        SecurityAssert.Decrypted(report.Security, Pgp);
        SecurityAssert.Signed(report.Security, Pgp);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
    }

    [Theory]
    [InlineData(PgpMail.Paul)]
    [InlineData(PgpMail.Erik)]
    public void A_cleartext_signed_block_as_the_whole_text_body_verifies(string signer)
    {
        using var store = Store();
        var clearSigned = gpg.ClearSign(signer, Encoding.UTF8.GetBytes(Body));
        var message = IncomingMail.WithHeaders(IncomingMail.InlineText(clearSigned), PgpMail.Address(signer), MailboxStore.Account);

        var report = store.Inspect(message);

        SecurityAssert.Signed(report.Security, Pgp);
        Assert.Null(report.Security.Encryption);
    }
}
