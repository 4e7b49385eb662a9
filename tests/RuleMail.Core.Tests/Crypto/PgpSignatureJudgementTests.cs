using System.Text;
using Org.BouncyCastle.Bcpg.OpenPgp;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// How an OpenPGP signature is judged: whose key, whether the signer is the sender, whether the key was valid
/// when the message is checked, and whether the content is what was signed. Signatures are made by gpg.
/// </summary>
public sealed class PgpSignatureJudgementTests(PgpMail gpg) : IClassFixture<PgpMail>
{
    private const string Body = "Please reset the password of account 4711.\n";
    private const string Pgp = SecurityResult.PgpType;

    [Fact]
    public void A_pgp_mime_signature_by_a_key_not_in_the_store_is_unable_to_find_certificate_for_validation()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Paul));
        var message = Signed(PgpMail.Stranger, "stranger@example.com");

        var report = store.Inspect(message);

        SecurityAssert.SignFailed(report.Security, Pgp, SecurityComments.CertificateNotFound);
        Assert.Null(report.Security.Encryption);
    }

    [Fact]
    public void A_cleartext_signature_by_a_key_not_in_the_store_is_unable_to_find_certificate_for_validation()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Paul));
        var clearSigned = gpg.ClearSign(PgpMail.Stranger, Encoding.UTF8.GetBytes(Body));
        var message = IncomingMail.WithHeaders(IncomingMail.InlineText(clearSigned), "stranger@example.com", MailboxStore.Account);

        var report = store.Inspect(message);

        SecurityAssert.SignFailed(report.Security, Pgp, SecurityComments.CertificateNotFound);
    }

    [Fact]
    public void A_message_signed_and_encrypted_by_a_key_not_in_the_store_is_decrypted_but_unable_to_find_certificate_for_validation()
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var armored = gpg.SignAndEncrypt(PgpMail.Stranger, PgpMail.Support, IncomingMail.TextEntity(Body));
        var message = IncomingMail.WithHeaders(IncomingMail.PgpEncrypted(armored), "stranger@example.com", MailboxStore.Account);

        var report = store.Inspect(message);

        SecurityAssert.Decrypted(report.Security, Pgp);
        SecurityAssert.SignFailed(report.Security, Pgp, SecurityComments.CertificateNotFound);
    }

    [Fact]
    public void A_valid_signature_by_someone_other_than_the_sender_is_not_signed_by_the_sender()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Paul));
        var message = Signed(PgpMail.Paul, "Mallory <mallory@example.net>");

        var report = store.Inspect(message);

        SecurityAssert.SignFailedLike(report.Security, Pgp, SecurityComments.NotSignedBySender(SecurityAssert.Any, SecurityAssert.Any));
        Assert.Contains("mallory@example.net", report.Security.Sign!.Comment, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_cleartext_signature_by_someone_other_than_the_sender_is_not_signed_by_the_sender()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Erik));
        var clearSigned = gpg.ClearSign(PgpMail.Erik, Encoding.UTF8.GetBytes(Body));
        var message = IncomingMail.WithHeaders(IncomingMail.InlineText(clearSigned), "mallory@example.net", MailboxStore.Account);

        var report = store.Inspect(message);

        SecurityAssert.SignFailedLike(report.Security, Pgp, SecurityComments.NotSignedBySender(SecurityAssert.Any, SecurityAssert.Any));
    }

    [Theory]
    [InlineData("PAUL@EXAMPLE.NET")]
    [InlineData("\"Paul Sender\" <Paul@Example.Net>")]
    public void The_sender_matches_the_keys_user_id_whatever_the_letter_case(string from)
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Paul));
        var message = Signed(PgpMail.Paul, from);

        var report = store.Inspect(message);

        SecurityAssert.Signed(report.Security, Pgp);
    }

    [Fact]
    public void A_signature_sent_from_an_address_whose_user_id_the_key_revoked_is_not_signed_by_the_sender()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Olga));
        var message = Signed(PgpMail.Olga, "olga.old@example.net");

        var report = store.Inspect(message);

        SecurityAssert.SignFailedLike(report.Security, Pgp, SecurityComments.NotSignedBySender(SecurityAssert.Any, SecurityAssert.Any));
    }

    [Fact]
    public void The_same_key_signs_for_its_current_user_id()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Olga));
        var message = Signed(PgpMail.Olga, "olga@example.net");

        var report = store.Inspect(message);

        SecurityAssert.Signed(report.Security, Pgp);
    }

    [Fact]
    public void A_signature_by_a_key_revoked_in_the_store_fails_naming_the_revocation()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Rex), gpg["rex.rev.asc"]);
        var message = Signed(PgpMail.Rex, "rex@example.net");

        var report = store.Inspect(message);

        SecurityAssert.SignFailed(report.Security, Pgp, SecurityComments.KeyRevoked(RevocationTime(gpg["rex.rev.asc"].Content)));
    }

    [Fact]
    public void The_same_signature_verifies_while_the_store_has_no_revocation_for_the_key()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Rex));
        var message = Signed(PgpMail.Rex, "rex@example.net");

        var report = store.Inspect(message);

        SecurityAssert.Signed(report.Security, Pgp);
    }

    [Fact]
    public void A_signature_checked_after_the_signers_key_expired_fails_naming_the_expiry()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Ezra));
        var message = Signed(PgpMail.Ezra, "ezra@example.net");
        var expires = PgpMail.Key(PgpMail.Ezra).Expires ?? throw new InvalidOperationException("ezra's key was made to expire");
        store.Time.SetUtcNow(expires.AddDays(2));

        var report = store.Inspect(message);

        SecurityAssert.SignFailed(report.Security, Pgp, SecurityComments.KeyExpired(expires));
    }

    [Fact]
    public void A_signature_checked_before_the_signers_key_was_made_fails_as_not_yet_valid()
    {
        var created = PgpMail.Key(PgpMail.Erik).Created;
        using var store = new MailboxStore(start: created.AddDays(-1));
        store.Import(gpg.Public(PgpMail.Erik));
        var message = Signed(PgpMail.Erik, "erik@example.net");

        var report = store.Inspect(message);

        SecurityAssert.SignFailed(report.Security, Pgp, SecurityComments.KeyNotYetValid(created));
    }

    [Theory]
    [InlineData(PgpMail.Paul)]
    [InlineData(PgpMail.Erik)]
    public void A_pgp_mime_signed_message_whose_text_was_changed_after_signing_is_tampered(string signer)
    {
        using var store = MailboxStore.With(gpg.Public(signer));
        var message = Signed(signer, PgpMail.Address(signer));
        var tampered = Replace(message, "account 4711", "account 4712");

        var report = store.Inspect(tampered);

        SecurityAssert.SignFailed(report.Security, Pgp, SecurityComments.Tampered);
    }

    [Theory]
    [InlineData(PgpMail.Paul)]
    [InlineData(PgpMail.Erik)]
    public void A_cleartext_signed_block_whose_text_was_changed_after_signing_is_tampered(string signer)
    {
        using var store = MailboxStore.With(gpg.Public(signer));
        var clearSigned = gpg.ClearSign(signer, Encoding.UTF8.GetBytes(Body));
        var message = IncomingMail.WithHeaders(IncomingMail.InlineText(clearSigned), PgpMail.Address(signer), MailboxStore.Account);
        var tampered = Replace(message, "account 4711", "account 4712");

        var report = store.Inspect(tampered);

        SecurityAssert.SignFailed(report.Security, Pgp, SecurityComments.Tampered);
    }

    private byte[] Signed(string signer, string from)
    {
        var part = IncomingMail.TextEntity(Body, "quoted-printable");
        return IncomingMail.WithHeaders(IncomingMail.PgpSigned(part, gpg.DetachSign(signer, part)), from, MailboxStore.Account);
    }

    private static DateTimeOffset RevocationTime(byte[] revocationCertificate)
    {
        var signatures = (PgpSignatureList)new PgpObjectFactory(Support.Pgp.Dearmor(revocationCertificate)).NextPgpObject();
        return new DateTimeOffset(DateTime.SpecifyKind(signatures[0].CreationTime, DateTimeKind.Utc));
    }

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
