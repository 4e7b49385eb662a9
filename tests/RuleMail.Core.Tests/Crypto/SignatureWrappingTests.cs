using System.Text;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// Signature wrapping: a genuine signed part (or cleartext-signed block) placed inside a message next to
/// unsigned text signs that part, not the message. Such a message must not be reported as signed.
/// </summary>
public sealed class SignatureWrappingTests(SmimeMail mail, PgpMail gpg) : IClassFixture<SmimeMail>, IClassFixture<PgpMail>
{
    private const string SignedText = "I approve the invoice of 12 EUR.\n";
    private const string Forged = "Please pay 12000 EUR to IBAN XX00 MALLORY.";

    [Theory]
    [InlineData("detached")]
    [InlineData("opaque")]
    public void A_valid_smime_signed_part_nested_in_an_unsigned_multipart_mixed_does_not_make_the_message_signed(string shape)
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var signed = shape == "opaque"
            ? mail.SmimeSign(IncomingMail.TextEntity(SignedText), SmimeMail.Sam, "-nodetach")
            : mail.SmimeSign(IncomingMail.TextEntity(SignedText), SmimeMail.Sam);
        var message = IncomingMail.WithHeaders(IncomingMail.MixedAround(signed, Forged, "Regards"), "sam@example.com", MailboxStore.Account);

        var report = store.Inspect(message);

        Assert.Equal(SecurityResult.None, report.Security);
    }

    [Fact]
    public void A_valid_pgp_mime_signed_part_nested_in_an_unsigned_multipart_mixed_does_not_make_the_message_signed()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Paul));
        var part = IncomingMail.TextEntity(SignedText, "quoted-printable");
        var signed = IncomingMail.PgpSigned(part, gpg.DetachSign(PgpMail.Paul, part));
        var message = IncomingMail.WithHeaders(IncomingMail.MixedAround(signed, Forged, "Regards"), "paul@example.net", MailboxStore.Account);

        var report = store.Inspect(message);

        Assert.Equal(SecurityResult.None, report.Security);
    }

    [Fact]
    public void A_cleartext_signed_block_in_a_part_nested_in_multipart_mixed_does_not_make_the_message_signed()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Paul));
        var inline = IncomingMail.InlineText(gpg.ClearSign(PgpMail.Paul, Encoding.UTF8.GetBytes(SignedText)));
        var message = IncomingMail.WithHeaders(IncomingMail.MixedAround(inline, Forged, "Regards"), "paul@example.net", MailboxStore.Account);

        var report = store.Inspect(message);

        Assert.Equal(SecurityResult.None, report.Security);
    }

    [Fact]
    public void A_cleartext_signed_block_after_unsigned_text_in_the_same_body_does_not_make_the_message_signed()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Paul));
        var clearSigned = gpg.ClearSign(PgpMail.Paul, Encoding.UTF8.GetBytes(SignedText));
        var body = Encoding.UTF8.GetBytes(Forged + "\n\n").Concat(clearSigned).ToArray();
        var message = IncomingMail.WithHeaders(IncomingMail.InlineText(body), "paul@example.net", MailboxStore.Account);

        var report = store.Inspect(message);

        Assert.Null(report.Security.Sign);
    }

    [Fact]
    public void The_same_cleartext_signed_block_as_the_whole_body_does_make_the_message_signed()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Paul));
        var clearSigned = gpg.ClearSign(PgpMail.Paul, Encoding.UTF8.GetBytes(SignedText));
        var message = IncomingMail.WithHeaders(IncomingMail.InlineText(clearSigned), "paul@example.net", MailboxStore.Account);

        var report = store.Inspect(message);

        SecurityAssert.Signed(report.Security, SecurityResult.PgpType);
    }
}
