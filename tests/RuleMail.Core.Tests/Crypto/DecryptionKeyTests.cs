using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// Which private key opens a message: the one for an address in To, Cc or Delivered-To (a Bcc copy carries
/// the account's address only there), or for the receiving account; and the seed's sentence when the store
/// holds none. Both systems, encrypted by openssl and gpg.
/// </summary>
public sealed class DecryptionKeyTests(SmimeMail mail, PgpMail gpg) : IClassFixture<SmimeMail>, IClassFixture<PgpMail>
{
    private const string Body = "Only for the support desk.\n";
    private const string Marker = "ONLY-FOR-SUPPORT-c0ffee";

    public static TheoryData<string, string, string[], string?> Addressings => new()
    {
        { "the To address", MailboxStore.Account, [], null },
        { "a Cc address", "someone@example.org", [$"Cc: Other <other@example.org>, {MailboxStore.Account}"], null },
        { "only Delivered-To (a Bcc copy)", "undisclosed-recipients:;", [$"Delivered-To: {MailboxStore.Account}"], null },
        { "only Delivered-To in angle brackets", "undisclosed-recipients:;", [$"Delivered-To: <{MailboxStore.Account}>"], null },
        { "the second of two Delivered-To headers", "list@lists.example.org", ["Delivered-To: list@lists.example.org", $"Delivered-To: {MailboxStore.Account}"], null },
        { "only the receiving account", "list@lists.example.org", [], MailboxStore.Account },
    };

    [Theory]
    [MemberData(nameof(Addressings))]
    public void An_smime_message_is_decrypted_with_the_private_key_for(string addressing, string to, string[] headers, string? account)
    {
        using var store = MailboxStore.With([mail["root.crt"], mail["inter.crt"], .. mail.WithPrivateKey(SmimeMail.Support)]);
        var encrypted = mail.CmsEncrypt(IncomingMail.TextEntity(Body + Marker), SmimeMail.Support);
        var message = IncomingMail.WithHeaders(encrypted, "sam@example.com", to, addressing, headers);

        var report = store.Inspect(message, account);

        SecurityAssert.Decrypted(report.Security, SecurityResult.SmimeType);
        Assert.Contains(Marker, IncomingMail.TextOf(report.Message), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Addressings))]
    public void A_pgp_message_is_decrypted_with_the_private_key_for(string addressing, string to, string[] headers, string? account)
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var armored = gpg.Encrypt(PgpMail.Support, IncomingMail.TextEntity(Body + Marker));
        var message = IncomingMail.WithHeaders(IncomingMail.PgpEncrypted(armored), "paul@example.net", to, addressing, headers);

        var report = store.Inspect(message, account);

        SecurityAssert.Decrypted(report.Security, SecurityResult.PgpType);
        Assert.Contains(Marker, IncomingMail.TextOf(report.Message), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("smime")]
    [InlineData("cms-oaep")]
    [InlineData("cms-gcm")]
    public void An_smime_message_encrypted_for_a_key_not_in_the_store_is_unable_to_find_private_key_to_decrypt(string how)
    {
        using var store = MailboxStore.With([mail["root.crt"], mail["inter.crt"], .. mail.WithPrivateKey(SmimeMail.Support)]);
        var entity = IncomingMail.TextEntity(Body + Marker);
        var encrypted = how switch
        {
            "smime" => mail.SmimeEncrypt(entity, SmimeMail.Stranger),
            "cms-oaep" => mail.CmsEncrypt(entity, SmimeMail.Stranger, "-aes256", "rsa_padding_mode:oaep"),
            _ => mail.CmsEncrypt(entity, SmimeMail.Stranger, "-aes-256-gcm"),
        };
        var message = IncomingMail.WithHeaders(encrypted, "sam@example.com", MailboxStore.Account);

        var report = store.Inspect(message, MailboxStore.Account);

        SecurityAssert.DecryptionFailed(report.Security, SecurityResult.SmimeType, SecurityComments.PrivateKeyNotFound);
        Assert.Null(report.Security.Sign);
        IncomingMail.AssertNowhere(report.Message, Marker);
    }

    [Theory]
    [InlineData("pgp-mime")]
    [InlineData("inline")]
    public void A_pgp_message_encrypted_for_a_key_not_in_the_store_is_unable_to_find_private_key_to_decrypt(string shape)
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support), gpg.Secret(PgpMail.Desk));
        var armored = gpg.Encrypt(PgpMail.Stranger, IncomingMail.TextEntity(Body + Marker));
        var entity = shape == "inline" ? IncomingMail.InlineText(armored) : IncomingMail.PgpEncrypted(armored);
        var message = IncomingMail.WithHeaders(entity, "paul@example.net", MailboxStore.Account);

        var report = store.Inspect(message, MailboxStore.Account);

        SecurityAssert.DecryptionFailed(report.Security, SecurityResult.PgpType, SecurityComments.PrivateKeyNotFound);
        IncomingMail.AssertNowhere(report.Message, Marker);
    }

    [Fact]
    public void An_smime_message_for_an_account_whose_store_holds_only_its_certificate_is_unable_to_find_private_key_to_decrypt()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"], mail["support.crt"]);
        var encrypted = mail.CmsEncrypt(IncomingMail.TextEntity(Body), SmimeMail.Support);
        var message = IncomingMail.WithHeaders(encrypted, "sam@example.com", MailboxStore.Account);

        var report = store.Inspect(message, MailboxStore.Account);

        SecurityAssert.DecryptionFailed(report.Security, SecurityResult.SmimeType, SecurityComments.PrivateKeyNotFound);
    }

    [Fact]
    public void A_pgp_message_for_an_account_whose_store_holds_only_its_public_key_is_unable_to_find_private_key_to_decrypt()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Support));
        var armored = gpg.Encrypt(PgpMail.Support, IncomingMail.TextEntity(Body));
        var message = IncomingMail.WithHeaders(IncomingMail.PgpEncrypted(armored), "paul@example.net", MailboxStore.Account);

        var report = store.Inspect(message, MailboxStore.Account);

        SecurityAssert.DecryptionFailed(report.Security, SecurityResult.PgpType, SecurityComments.PrivateKeyNotFound);
    }
}
