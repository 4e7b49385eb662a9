using System.Text;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// How an S/MIME signature is judged: whose certificate, which chain, whether the signer is the sender, whether
/// the certificate was valid, and whether the content is what was signed. Signatures are made by openssl.
/// </summary>
public sealed class SmimeSignatureJudgementTests(SmimeMail mail) : IClassFixture<SmimeMail>
{
    private const string Body = "Please reset the password of account 4711.\n";
    private const string Smime = SecurityResult.SmimeType;

    [Fact]
    public void A_signer_who_is_not_in_the_store_and_has_no_chain_to_a_trusted_ca_is_unable_to_find_certificate_for_validation()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var message = Signed(SmimeMail.Stranger, "stranger@example.com");

        var report = store.Inspect(message);

        SecurityAssert.SignFailed(report.Security, Smime, SecurityComments.CertificateNotFound);
        Assert.Null(report.Security.Encryption);
    }

    [Fact]
    public void A_message_signed_by_an_unknown_signer_then_encrypted_is_decrypted_but_unable_to_find_certificate_for_validation()
    {
        using var store = MailboxStore.With([mail["root.crt"], mail["inter.crt"], .. mail.WithPrivateKey(SmimeMail.Support)]);
        var signed = mail.SmimeSign(IncomingMail.TextEntity(Body), SmimeMail.Stranger);
        var message = IncomingMail.WithHeaders(mail.SmimeEncrypt(signed, SmimeMail.Support), "stranger@example.com", MailboxStore.Account);

        var report = store.Inspect(message);

        SecurityAssert.Decrypted(report.Security, Smime);
        SecurityAssert.SignFailed(report.Security, Smime, SecurityComments.CertificateNotFound);
    }

    [Fact]
    public void A_signer_whose_intermediate_ca_is_neither_in_the_mail_nor_in_the_store_is_unable_to_find_certificate_for_validation()
    {
        using var store = MailboxStore.With(mail["root.crt"]);
        var message = Signed(SmimeMail.Sam, "sam@example.com");

        var report = store.Inspect(message);

        SecurityAssert.SignFailed(report.Security, Smime, SecurityComments.CertificateNotFound);
    }

    [Fact]
    public void A_signer_not_in_the_store_verifies_when_the_mail_carries_the_intermediate_ca_up_to_the_trusted_root()
    {
        using var store = MailboxStore.With(mail["root.crt"]);
        var message = Signed(SmimeMail.Sam, "sam@example.com", "-certfile", mail.Certificate("inter"));

        var report = store.Inspect(message);

        SecurityAssert.Signed(report.Security, Smime);
    }

    [Fact]
    public void A_signer_not_in_the_store_verifies_when_the_store_holds_the_intermediate_ca_the_mail_lacks()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var message = Signed(SmimeMail.Sam, "sam@example.com");

        var report = store.Inspect(message);

        SecurityAssert.Signed(report.Security, Smime);
    }

    [Fact]
    public void A_signer_whose_certificate_the_admin_added_to_the_store_verifies_without_any_ca()
    {
        using var store = MailboxStore.With(mail["sam.crt"]);
        var message = Signed(SmimeMail.Sam, "sam@example.com");

        var report = store.Inspect(message);

        SecurityAssert.Signed(report.Security, Smime);
    }

    [Fact]
    public void A_signature_that_carries_no_certificate_verifies_with_the_signers_certificate_from_the_store()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"], mail["sam.crt"]);
        var message = Signed(SmimeMail.Sam, "sam@example.com", "-nocerts");

        var report = store.Inspect(message);

        SecurityAssert.Signed(report.Security, Smime);
    }

    [Fact]
    public void A_signature_that_carries_no_certificate_by_a_signer_not_in_the_store_is_unable_to_find_certificate_for_validation()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var message = Signed(SmimeMail.Sam, "sam@example.com", "-nocerts");

        var report = store.Inspect(message);

        SecurityAssert.SignFailed(report.Security, Smime, SecurityComments.CertificateNotFound);
    }

    [Fact]
    public void A_certificate_for_the_senders_address_from_a_ca_that_copies_the_intermediates_name_does_not_verify()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var message = Signed(SmimeMail.Forger, "sam@example.com", "-certfile", mail.PathOf("forged-inter.crt"));

        var report = store.Inspect(message);

        Assert.NotNull(report.Security.Sign);
        Assert.False(report.Security.Sign.Success, $"a forged chain was accepted: {report.Security.Sign.Comment}");
        if (report.Security.Sign.Comment != SecurityComments.CertificateNotFound)
        {
            SecurityAssert.Like(SecurityComments.ChainInvalid(SecurityAssert.Any), report.Security.Sign.Comment);
        }
    }

    [Fact]
    public void Inspecting_a_message_never_adds_the_certificates_it_carries_to_the_store()
    {
        using var store = MailboxStore.With(mail["root.crt"]);
        var before = FolderSnapshot.Take(store.Store.Directory);
        var message = Signed(SmimeMail.Stranger, "stranger@example.com", "-certfile", mail.PathOf("stranger-root.crt"));

        var first = store.Inspect(message);
        var second = store.Inspect(message);

        SecurityAssert.SignFailed(first.Security, Smime, SecurityComments.CertificateNotFound);
        SecurityAssert.SignFailed(second.Security, Smime, SecurityComments.CertificateNotFound);
        before.AssertSameAs(FolderSnapshot.Take(store.Store.Directory));
        store.Store.Reload();
        Assert.Single(store.Store.Certificates);
    }

    [Fact]
    public void A_signer_whose_certificate_is_not_for_e_mail_fails_as_not_allowed_for_e_mail_signatures()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var message = Signed(SmimeMail.Server, "server@example.com");

        var report = store.Inspect(message);

        SecurityAssert.SignFailedLike(report.Security, Smime, SecurityComments.CertificateNotForSigning(SecurityAssert.Any));
    }

    [Fact]
    public void A_valid_signature_by_someone_other_than_the_sender_is_not_signed_by_the_sender()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var message = Signed(SmimeMail.Sam, "Mallory <mallory@example.com>");

        var report = store.Inspect(message);

        SecurityAssert.SignFailedLike(report.Security, Smime, SecurityComments.NotSignedBySender(SecurityAssert.Any, SecurityAssert.Any));
        Assert.Contains("mallory@example.com", report.Security.Sign!.Comment, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_signature_on_a_message_without_a_from_address_stands_for_no_sender()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var signed = mail.SmimeSign(IncomingMail.TextEntity(Body), SmimeMail.Sam);
        var message = Encoding.ASCII.GetBytes("To: support@rulemail.test\nSubject: no sender\n").Concat(signed).ToArray();

        var report = store.Inspect(message);

        SecurityAssert.SignFailed(report.Security, Smime, SecurityComments.NoSender);
    }

    [Theory]
    [InlineData("SAM@EXAMPLE.COM")]
    [InlineData("\"Sam Sender\" <Sam@Example.Com>")]
    [InlineData("sam.alias@example.com")]
    public void The_sender_matches_any_address_of_the_certificate_whatever_the_letter_case(string from)
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var message = Signed(SmimeMail.Sam, from);

        var report = store.Inspect(message);

        SecurityAssert.Signed(report.Security, Smime);
    }

    [Fact]
    public void A_signer_whose_certificate_had_expired_when_the_message_arrived_fails_naming_the_expiry()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var message = Signed(SmimeMail.Expired, "expired@example.com");

        var report = store.Inspect(message);

        SecurityAssert.SignFailed(report.Security, Smime, SecurityComments.CertificateExpired(SmimeMail.Dates.ExpiredNotAfter));
    }

    [Fact]
    public void A_signer_whose_certificate_is_not_yet_valid_fails_naming_its_start()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var message = Signed(SmimeMail.Future, "future@example.com");

        var report = store.Inspect(message);

        SecurityAssert.SignFailed(report.Security, Smime, SecurityComments.CertificateNotYetValid(SmimeMail.Dates.FutureNotBefore));
    }

    [Fact]
    public void A_signature_checked_after_the_signers_certificate_has_expired_fails_naming_the_expiry()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var message = Signed(SmimeMail.Sam, "sam@example.com");
        using var certificate = SmimeMail.LoadCertificate(SmimeMail.Sam);
        store.Time.SetUtcNow(certificate.NotAfter.ToUniversalTime().AddDays(2));

        var report = store.Inspect(message);

        SecurityAssert.SignFailed(report.Security, Smime, SecurityComments.CertificateExpired(new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero)));
    }

    [Fact]
    public void A_signer_whose_certificate_a_crl_in_the_store_revokes_fails_naming_the_revocation()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"], mail["inter.crl"]);
        var message = Signed(SmimeMail.Revoked, "revoked@example.com");

        var report = store.Inspect(message);

        SecurityAssert.SignFailed(report.Security, Smime, SecurityComments.CertificateRevoked(SmimeMail.Dates.RevokedAt));
    }

    [Fact]
    public void The_same_signer_verifies_while_the_store_has_no_crl_that_revokes_it()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var message = Signed(SmimeMail.Revoked, "revoked@example.com");

        var report = store.Inspect(message);

        SecurityAssert.Signed(report.Security, Smime);
    }

    [Theory]
    [InlineData(SmimeMail.Sam)]
    [InlineData(SmimeMail.Eve)]
    public void A_detached_signed_message_whose_text_was_changed_after_signing_is_tampered(string signer)
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var message = Signed(signer, $"{signer}@example.com");
        var tampered = Replace(message, "account 4711", "account 4712");

        var report = store.Inspect(tampered);

        SecurityAssert.SignFailed(report.Security, Smime, SecurityComments.Tampered);
    }

    [Fact]
    public void An_opaque_signed_message_whose_content_was_changed_inside_the_signed_data_is_tampered()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var signed = mail.CmsSign(IncomingMail.TextEntity(Body), SmimeMail.Sam, "-nodetach", "-outform", "DER");
        var tamperedDer = Replace(signed, "account 4711", "account 4712");
        var message = IncomingMail.WithHeaders(
            Encoding.ASCII.GetBytes(
                "MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n" +
                "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=smime.p7m\r\n\r\n" +
                Convert.ToBase64String(tamperedDer, Base64FormattingOptions.InsertLineBreaks) + "\r\n"),
            "sam@example.com",
            MailboxStore.Account);

        var report = store.Inspect(message);

        SecurityAssert.SignFailed(report.Security, Smime, SecurityComments.Tampered);
    }

    private byte[] Signed(string signer, string from, params string[] options) =>
        IncomingMail.WithHeaders(mail.SmimeSign(IncomingMail.TextEntity(Body), signer, options), from, MailboxStore.Account);

    private static byte[] Replace(byte[] content, string from, string to)
    {
        var needle = Encoding.ASCII.GetBytes(from);
        var at = content.AsSpan().IndexOf(needle);
        Assert.True(at >= 0, $"\"{from}\" is not in the content to tamper with");
        var copy = content.ToArray();
        Encoding.ASCII.GetBytes(to).CopyTo(copy, at);
        return copy;
    }
}
