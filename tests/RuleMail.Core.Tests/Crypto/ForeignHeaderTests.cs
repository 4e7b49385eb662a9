using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// <c>X-RuleMail-*</c> headers are RuleMail's own vocabulary; arriving from outside they are never trusted, so
/// they are gone from the report's message — from a plain message, and from outside and inside a decrypted one.
/// </summary>
public sealed class ForeignHeaderTests(SmimeMail mail, PgpMail gpg) : IClassFixture<SmimeMail>, IClassFixture<PgpMail>
{
    private const string Body = "Nothing to see here.\n";

    private static readonly string[] Outside =
    [
        "X-RuleMail-Encrypt: yes",
        "X-RuleMail-Security: ok",
        "x-rulemail-sign: yes",
        "X-RULEMAIL-TYPE: smime",
        "X-Other-Header: kept",
    ];

    private static readonly string[] Inside = ["X-RuleMail-Sign: yes", "X-RuleMail-Verified: true"];

    [Fact]
    public void A_plain_message_loses_every_x_rulemail_header_and_keeps_the_others()
    {
        using var store = new MailboxStore();
        var message = IncomingMail.WithHeaders(IncomingMail.TextEntity(Body), "someone@example.org", MailboxStore.Account, "Plain", Outside);
        Assert.Equal(4, IncomingMail.Load(message).Headers.Count(h => h.Field.StartsWith("X-RuleMail-", StringComparison.OrdinalIgnoreCase)));

        var report = store.Inspect(message);

        Assert.Equal(SecurityResult.None, report.Security);
        IncomingMail.AssertNoRuleMailHeaders(report.Message);
        Assert.Equal("kept", report.Message.Headers["X-Other-Header"]);
        Assert.Equal("Plain", report.Message.Subject);
    }

    [Fact]
    public void A_decrypted_smime_message_carries_no_x_rulemail_header_from_outside_or_inside_the_encryption()
    {
        using var store = MailboxStore.With([mail["root.crt"], mail["inter.crt"], .. mail.WithPrivateKey(SmimeMail.Support)]);
        var encrypted = mail.CmsEncrypt(IncomingMail.TextEntity(Body, "8bit", Inside), SmimeMail.Support);
        var message = IncomingMail.WithHeaders(encrypted, "sam@example.com", MailboxStore.Account, "Encrypted", Outside);

        var report = store.Inspect(message);

        SecurityAssert.Decrypted(report.Security, SecurityResult.SmimeType);
        IncomingMail.AssertNoRuleMailHeaders(report.Message);
    }

    [Fact]
    public void A_decrypted_pgp_message_carries_no_x_rulemail_header_from_outside_or_inside_the_encryption()
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var armored = gpg.Encrypt(PgpMail.Support, IncomingMail.TextEntity(Body, "8bit", Inside));
        var message = IncomingMail.WithHeaders(IncomingMail.PgpEncrypted(armored), "paul@example.net", MailboxStore.Account, "Encrypted", Outside);

        var report = store.Inspect(message);

        SecurityAssert.Decrypted(report.Security, SecurityResult.PgpType);
        IncomingMail.AssertNoRuleMailHeaders(report.Message);
    }

    [Fact]
    public void A_signed_message_loses_its_x_rulemail_headers_and_its_signature_still_verifies()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var signed = mail.SmimeSign(IncomingMail.TextEntity(Body), SmimeMail.Sam);
        var message = IncomingMail.WithHeaders(signed, "sam@example.com", MailboxStore.Account, "Signed", Outside);

        var report = store.Inspect(message);

        SecurityAssert.Signed(report.Security, SecurityResult.SmimeType);
        IncomingMail.AssertNoRuleMailHeaders(report.Message);
    }

    [Fact]
    public void A_message_that_cannot_be_decrypted_still_loses_its_x_rulemail_headers()
    {
        using var store = MailboxStore.With(mail["root.crt"]);
        var encrypted = mail.CmsEncrypt(IncomingMail.TextEntity(Body), SmimeMail.Stranger);
        var message = IncomingMail.WithHeaders(encrypted, "sam@example.com", MailboxStore.Account, "Encrypted", Outside);

        var report = store.Inspect(message);

        SecurityAssert.DecryptionFailed(report.Security, SecurityResult.SmimeType, SecurityComments.PrivateKeyNotFound);
        IncomingMail.AssertNoRuleMailHeaders(report.Message);
    }
}
