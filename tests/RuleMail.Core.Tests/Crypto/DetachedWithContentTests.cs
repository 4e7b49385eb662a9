using System.Text;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// Hostile review: a multipart/signed whose signature part is not detached but carries its own content (openssl
/// -nodetach, signed by a trusted sender over harmless text) must not vouch for the different first part.
/// </summary>
public sealed class DetachedWithContentTests(SmimeMail smime) : IClassFixture<SmimeMail>
{
    [Fact]
    public void A_signature_part_that_carries_other_signed_content_does_not_verify_the_shown_part()
    {
        using var store = MailboxStore.With([smime["root.crt"], smime["inter.crt"], .. smime.WithPrivateKey(SmimeMail.Support)]);
        var harmless = IncomingMail.TextEntity("See you on Monday.\n");
        var opaque = smime.OpenSsl(harmless, "smime", "-sign", "-signer", smime.Certificate(SmimeMail.Sam), "-inkey", smime.Key(SmimeMail.Sam), "-nodetach", "-outform", "DER");
        var shown = Encoding.ASCII.GetString(IncomingMail.TextEntity("Please pay invoice 4711 to account EVIL.\n"));
        var body = "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=s\r\n\r\n"
                   + "--s\r\n" + shown + "\r\n--s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                   + Convert.ToBase64String(opaque, Base64FormattingOptions.InsertLineBreaks) + "\r\n--s--\r\n";
        var message = IncomingMail.WithHeaders(Encoding.ASCII.GetBytes(body), "sam@example.com", MailboxStore.Account, "wrapped");

        var report = store.Inspect(message, MailboxStore.Account);

        Assert.False(report.Security.Sign?.Success ?? false, report.Security.Sign?.Comment);
        Assert.Equal(RuleMail.Crypto.SecurityComments.Tampered, report.Security.Sign?.Comment);
    }
}
