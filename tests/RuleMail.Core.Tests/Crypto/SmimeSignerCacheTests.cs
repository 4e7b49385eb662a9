using System.Text;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// One <see cref="IncomingSecurity"/> keeps signer certificates and their public keys decoded between messages. What it keeps
/// must never outlive what the store says, and never stand for another certificate: these tests judge a second message with
/// the same instance after the first one filled its caches.
/// </summary>
public sealed class SmimeSignerCacheTests(SmimeMail mail) : IClassFixture<SmimeMail>
{
    private const string Body = "Please reset the password of account 4711.\n";
    private const string Smime = SecurityResult.SmimeType;

    [Fact]
    public void A_store_certificate_removed_after_it_verified_a_message_no_longer_verifies_a_signature_that_carries_none()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"], mail["sam.crt"]);
        var security = new IncomingSecurity(store.Store);
        var message = Signed(SmimeMail.Sam, "sam@example.com", "-nocerts");
        SecurityAssert.Signed(Inspect(security, message), Smime);

        store.Store.Remove(SamFingerprint(store.Store));

        SecurityAssert.SignFailed(Inspect(security, message), Smime, SecurityComments.CertificateNotFound);
    }

    [Fact]
    public void A_trust_anchor_removed_after_it_vouched_for_a_signer_no_longer_vouches_for_the_same_certificate()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var security = new IncomingSecurity(store.Store);
        var message = Signed(SmimeMail.Sam, "sam@example.com");
        SecurityAssert.Signed(Inspect(security, message), Smime);

        store.Store.Remove(store.Store.Certificates.Single(c => c.Subject.Contains("Root", StringComparison.Ordinal)).Fingerprint);

        SecurityAssert.SignFailed(Inspect(security, message), Smime, SecurityComments.CertificateNotFound);
    }

    [Fact]
    public void A_signer_certificate_added_to_the_store_after_a_message_failed_verifies_the_same_message_at_once()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var security = new IncomingSecurity(store.Store);
        var message = Signed(SmimeMail.Sam, "sam@example.com", "-nocerts");
        SecurityAssert.SignFailed(Inspect(security, message), Smime, SecurityComments.CertificateNotFound);

        store.Import(mail["sam.crt"]);

        SecurityAssert.Signed(Inspect(security, message), Smime);
    }

    [Fact]
    public void A_signature_by_another_key_naming_the_issuer_and_serial_of_a_certificate_whose_key_was_cached_is_tampered()
    {
        // forger.crt copies sam's issuer name, serial number, subject and address, with another (EC) key. Without the
        // certificate in the mail, the signer identifier names sam's certificate in the store, whose key was cached by
        // sam's genuine message first.
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"], mail["sam.crt"]);
        var security = new IncomingSecurity(store.Store);
        SecurityAssert.Signed(Inspect(security, Signed(SmimeMail.Sam, "sam@example.com", "-nocerts")), Smime);

        var forged = Signed(SmimeMail.Forger, "sam@example.com", "-nocerts");

        SecurityAssert.SignFailed(Inspect(security, forged), Smime, SecurityComments.Tampered);
    }

    [Fact]
    public void A_certificate_with_the_same_subject_and_serial_but_another_key_carried_in_the_mail_never_verifies_after_the_genuine_one()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var security = new IncomingSecurity(store.Store);
        SecurityAssert.Signed(Inspect(security, Signed(SmimeMail.Sam, "sam@example.com")), Smime);

        var report = Inspect(security, Signed(SmimeMail.Forger, "sam@example.com"));

        Assert.NotNull(report.Sign);
        Assert.False(report.Sign.Success, $"a forged certificate was accepted: {report.Sign.Comment}");
        if (report.Sign.Comment != SecurityComments.CertificateNotFound)
        {
            SecurityAssert.Like(SecurityComments.ChainInvalid(SecurityAssert.Any), report.Sign.Comment);
        }
    }

    [Theory]
    [InlineData(SmimeMail.Sam)]
    [InlineData(SmimeMail.Eve)]
    public void A_signed_attribute_changed_after_signing_is_tampered_even_after_the_same_signer_verified(string signer)
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var security = new IncomingSecurity(store.Store);
        var entity = IncomingMail.TextEntity(Body);
        var signature = mail.CmsSign(entity, signer, "-outform", "DER");
        var message = HandBuiltCms.DetachedMessage(entity, signature, $"{signer}@example.com", MailboxStore.Account);
        SecurityAssert.Signed(Inspect(security, message), Smime);

        var tampered = HandBuiltCms.DetachedMessage(entity, ChangeSigningTime(signature), $"{signer}@example.com", MailboxStore.Account);

        SecurityAssert.SignFailed(Inspect(security, tampered), Smime, SecurityComments.Tampered);
    }

    [Fact]
    public void Content_changed_after_signing_is_tampered_even_after_the_same_signature_verified_the_original()
    {
        using var store = MailboxStore.With(mail["root.crt"], mail["inter.crt"]);
        var security = new IncomingSecurity(store.Store);
        var entity = IncomingMail.TextEntity(Body);
        var signature = mail.CmsSign(entity, SmimeMail.Sam, "-outform", "DER");
        SecurityAssert.Signed(Inspect(security, HandBuiltCms.DetachedMessage(entity, signature, "sam@example.com", MailboxStore.Account)), Smime);

        var changed = Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(entity).Replace("4711", "4712", StringComparison.Ordinal));

        SecurityAssert.SignFailed(Inspect(security, HandBuiltCms.DetachedMessage(changed, signature, "sam@example.com", MailboxStore.Account)), Smime, SecurityComments.Tampered);
    }

    private static SecurityResult Inspect(IncomingSecurity security, byte[] message) =>
        security.Inspect(new MemoryStream(message, writable: false), MailboxStore.Account).Security;

    private static string SamFingerprint(KeyStore store) =>
        store.Certificates.Single(c => c.Addresses.Contains("sam@example.com") && c.Subject.Contains("Sam", StringComparison.Ordinal)).Fingerprint;

    private byte[] Signed(string signer, string from, params string[] options) =>
        IncomingMail.WithHeaders(mail.SmimeSign(IncomingMail.TextEntity(Body), signer, options), from, MailboxStore.Account);

    /// <summary>The DER signature with one digit of its signing-time attribute (a UTCTime) changed: the attribute still reads, the signature over it no longer holds.</summary>
    private static byte[] ChangeSigningTime(byte[] signature)
    {
        byte[] signingTime = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x05, 0x31, 0x0F, 0x17, 0x0D];
        var at = signature.AsSpan().IndexOf(signingTime);
        Assert.True(at >= 0, "the signature has no signing-time attribute to change");
        var copy = signature.ToArray();
        var secondsDigit = at + signingTime.Length + 11;
        copy[secondsDigit] = copy[secondsDigit] == (byte)'0' ? (byte)'1' : (byte)'0';
        return copy;
    }
}
