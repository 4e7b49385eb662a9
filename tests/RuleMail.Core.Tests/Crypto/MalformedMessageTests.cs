using System.Text;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// Nothing throws past a message: a damaged security structure is a result — the side it damages fails with
/// a sentence of the <see cref="SecurityComments.Malformed"/> family — and no plaintext of a damaged
/// encrypted message is released.
/// </summary>
public sealed class MalformedMessageTests(SmimeMail mail, PgpMail gpg) : IClassFixture<SmimeMail>, IClassFixture<PgpMail>
{
    private const string Crlf = IncomingMail.Crlf;
    private const string Marker = "MALFORMED-SECRET-MARKER-77aa31";

    [Theory]
    [InlineData("S/MIME multipart/signed with only the signed part", "application/pkcs7-signature")]
    [InlineData("S/MIME multipart/signed with only the signature part", "application/pkcs7-signature")]
    [InlineData("S/MIME multipart/signed with no part at all", "application/pkcs7-signature")]
    [InlineData("S/MIME signature part that is not base64", "application/pkcs7-signature")]
    [InlineData("S/MIME signature part that is base64 but not CMS", "application/x-pkcs7-signature")]
    [InlineData("S/MIME signature part that is empty", "application/pkcs7-signature")]
    [InlineData("PGP multipart/signed with only the signed part", "application/pgp-signature")]
    [InlineData("PGP signature part that is not OpenPGP", "application/pgp-signature")]
    public void A_damaged_signature_structure_fails_the_signature_with_a_reason(string damage, string protocol)
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"], gpg.Public(PgpMail.Paul));
        var message = IncomingMail.WithHeaders(SignedStructure(damage, protocol), "sam@example.com", MailboxStore.Account);

        var report = store.Inspect(message);

        Assert.NotNull(report.Security.Sign);
        Assert.False(report.Security.Sign.Success, "a damaged signature was accepted");
        SecurityAssert.Like(SecurityComments.Malformed(SecurityAssert.Any), report.Security.Sign.Comment);
        Assert.Null(report.Security.Encryption);
    }

    [Theory]
    [InlineData("enveloped-data that is not base64")]
    [InlineData("enveloped-data that is base64 but not CMS")]
    [InlineData("enveloped-data with an empty body")]
    [InlineData("enveloped-data cut in half")]
    [InlineData("authEnveloped-data cut in half")]
    public void A_damaged_smime_encrypted_message_fails_the_encryption_with_a_reason(string damage)
    {
        using var store = MailboxStore.With([mail["root.crt"], mail["inter.crt"], .. mail.WithPrivateKey(SmimeMail.Support)]);
        var message = IncomingMail.WithHeaders(EncryptedSmime(damage), "sam@example.com", MailboxStore.Account);

        var report = store.Inspect(message, MailboxStore.Account);

        AssertEncryptionMalformed(report);
    }

    [Theory]
    [InlineData("multipart/encrypted with only the version part")]
    [InlineData("multipart/encrypted with an empty data part")]
    [InlineData("multipart/encrypted whose data part is not OpenPGP")]
    [InlineData("armor cut inside the key packet, END line kept")]
    [InlineData("armor cut inside the encrypted data, no END line")]
    [InlineData("inline armor cut inside the encrypted data, END line kept")]
    public void A_damaged_pgp_encrypted_message_fails_the_encryption_with_a_reason(string damage)
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var message = IncomingMail.WithHeaders(EncryptedPgp(damage), "paul@example.net", MailboxStore.Account);

        var report = store.Inspect(message, MailboxStore.Account);

        AssertEncryptionMalformed(report);
    }

    [Fact]
    public void A_message_with_an_empty_body_is_neither_signed_nor_encrypted()
    {
        using var store = MailboxStore.With(mail["root.crt"]);
        var message = Encoding.ASCII.GetBytes("From: sam@example.com" + Crlf + "To: support@rulemail.test" + Crlf + "Subject: empty" + Crlf + Crlf);

        var report = store.Inspect(message);

        Assert.Equal(SecurityResult.None, report.Security);
    }

    private static void AssertEncryptionMalformed(IncomingReport report)
    {
        Assert.NotNull(report.Security.Encryption);
        Assert.False(report.Security.Encryption.Success, "a damaged encrypted message was reported decrypted");
        SecurityAssert.Like(SecurityComments.Malformed(SecurityAssert.Any), report.Security.Encryption.Comment);
        IncomingMail.AssertNowhere(report.Message, Marker);
    }

    private byte[] SignedStructure(string damage, string protocol)
    {
        const string Boundary = "broken-signed-boundary";
        var signedPart = "Content-Type: text/plain; charset=us-ascii" + Crlf + Crlf + "Signed text " + Crlf;
        string SignaturePart(string body) =>
            $"Content-Type: {protocol}; name=smime.p7s" + Crlf + "Content-Transfer-Encoding: base64" + Crlf + Crlf + body + Crlf;
        string Armored(string body) => $"Content-Type: {protocol}" + Crlf + Crlf + body + Crlf;

        string[] parts = damage switch
        {
            "S/MIME multipart/signed with only the signed part" => [signedPart],
            "S/MIME multipart/signed with only the signature part" => [SignaturePart(Convert.ToBase64String(RealSignature()))],
            "S/MIME multipart/signed with no part at all" => [],
            "S/MIME signature part that is not base64" => [signedPart, SignaturePart("This is #not# base64 at all!!!")],
            "S/MIME signature part that is base64 but not CMS" => [signedPart, SignaturePart(Convert.ToBase64String(Encoding.ASCII.GetBytes("0123456789abcdef0123456789abcdef")))],
            "S/MIME signature part that is empty" => [signedPart, SignaturePart(string.Empty)],
            "PGP multipart/signed with only the signed part" => [signedPart],
            "PGP signature part that is not OpenPGP" =>
                [signedPart, Armored("-----BEGIN PGP SIGNATURE-----" + Crlf + Crlf + "bm90IGEgc2lnbmF0dXJl" + Crlf + "-----END PGP SIGNATURE-----")],
            _ => throw new ArgumentException($"unknown damage {damage}", nameof(damage)),
        };
        var micalg = protocol.Contains("pgp", StringComparison.Ordinal) ? "pgp-sha256" : "sha-256";
        var text = new StringBuilder($"MIME-Version: 1.0{Crlf}Content-Type: multipart/signed; protocol=\"{protocol}\"; micalg={micalg}; boundary=\"{Boundary}\"{Crlf}{Crlf}");
        text.Append("This is a signed message").Append(Crlf);
        foreach (var part in parts)
        {
            text.Append("--").Append(Boundary).Append(Crlf).Append(part).Append(Crlf);
        }

        text.Append("--").Append(Boundary).Append("--").Append(Crlf);
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    private byte[] RealSignature() =>
        mail.OpenSsl(IncomingMail.TextEntity("x"), "cms", "-sign", "-outform", "DER", "-signer", mail.Certificate(SmimeMail.Sam), "-inkey", mail.Key(SmimeMail.Sam));

    private byte[] EncryptedSmime(string damage)
    {
        var entity = IncomingMail.TextEntity("The secret is " + Marker + "." + Crlf + new string('x', 400));
        string Base64Body() => damage switch
        {
            "enveloped-data that is not base64" => "This is #not# base64 at all!!!",
            "enveloped-data that is base64 but not CMS" => Convert.ToBase64String(Encoding.ASCII.GetBytes("0123456789abcdef0123456789abcdef")),
            "enveloped-data with an empty body" => string.Empty,
            "enveloped-data cut in half" => Half(Der("-aes256")),
            "authEnveloped-data cut in half" => Half(Der("-aes-256-gcm")),
            _ => throw new ArgumentException($"unknown damage {damage}", nameof(damage)),
        };
        byte[] Der(string cipher) =>
            mail.OpenSsl(entity, "cms", "-encrypt", cipher, "-outform", "DER", "-recip", mail.Certificate(SmimeMail.Support));
        static string Half(byte[] der) => Convert.ToBase64String(der, 0, der.Length / 2, Base64FormattingOptions.InsertLineBreaks);

        var smimeType = damage.StartsWith("auth", StringComparison.Ordinal) ? "authEnveloped-data" : "enveloped-data";
        return Encoding.ASCII.GetBytes(
            $"MIME-Version: 1.0{Crlf}Content-Type: application/pkcs7-mime; smime-type={smimeType}; name=smime.p7m{Crlf}" +
            $"Content-Transfer-Encoding: base64{Crlf}Content-Disposition: attachment; filename=smime.p7m{Crlf}{Crlf}" + Base64Body() + Crlf);
    }

    private byte[] EncryptedPgp(string damage)
    {
        var armored = Encoding.ASCII.GetString(gpg.Encrypt(PgpMail.Support, IncomingMail.TextEntity("The secret is " + Marker + "." + Crlf + new string('x', 2000))));
        var lines = armored.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n').Split('\n');
        var body = lines.SkipWhile(l => l.Length > 0).Skip(1).TakeWhile(l => !l.StartsWith('=') && !l.StartsWith("-----", StringComparison.Ordinal)).ToList();
        const string Begin = "-----BEGIN PGP MESSAGE-----";
        const string End = "-----END PGP MESSAGE-----";

        if (damage.StartsWith("inline", StringComparison.Ordinal))
        {
            var cut = string.Join(Crlf, [Begin, string.Empty, .. body.Take(body.Count / 2), End]) + Crlf;
            return IncomingMail.InlineText(Encoding.ASCII.GetBytes(cut));
        }

        string? data = damage switch
        {
            "multipart/encrypted with only the version part" => null,
            "multipart/encrypted with an empty data part" => string.Empty,
            "multipart/encrypted whose data part is not OpenPGP" => "Hello, this is no OpenPGP message at all." + Crlf,
            "armor cut inside the key packet, END line kept" => string.Join(Crlf, [Begin, string.Empty, .. body.Take(2), End]) + Crlf,
            "armor cut inside the encrypted data, no END line" => string.Join(Crlf, [Begin, string.Empty, .. body.Take(body.Count / 2)]) + Crlf,
            _ => throw new ArgumentException($"unknown damage {damage}", nameof(damage)),
        };

        const string Boundary = "broken-encrypted-boundary";
        var text = new StringBuilder($"MIME-Version: 1.0{Crlf}Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"{Boundary}\"{Crlf}{Crlf}");
        text.Append("--").Append(Boundary).Append(Crlf).Append("Content-Type: application/pgp-encrypted").Append(Crlf).Append(Crlf).Append("Version: 1").Append(Crlf);
        if (data is not null)
        {
            text.Append("--").Append(Boundary).Append(Crlf).Append("Content-Type: application/octet-stream; name=encrypted.asc").Append(Crlf).Append(Crlf).Append(data);
        }

        text.Append("--").Append(Boundary).Append("--").Append(Crlf);
        return Encoding.ASCII.GetBytes(text.ToString());
    }
}
