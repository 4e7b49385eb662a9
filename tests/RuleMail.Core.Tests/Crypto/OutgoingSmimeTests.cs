using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using MimeKit;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// S/MIME that RuleMail sends is read by the real tools and by RuleMail itself: openssl smime and cms verify
/// the signatures against the root alone (the intermediate travels in the signature), gpgsm verifies them too,
/// openssl decrypts with the recipient's key and with the sender's own, and IncomingSecurity opens and verifies
/// every shape. Every message goes through a file with LF line ends first, as an outbox or a mail client stores it.
/// </summary>
/// <remarks>
/// The sender's store trusts the root CA and holds the intermediate, sam (RSA) and eve (EC P-256) with their private
/// keys, and the recipient support's certificate. The receiving store holds support's key and the senders' certificates.
/// </remarks>
public sealed class OutgoingSmimeTests(SmimeMail mail) : IClassFixture<SmimeMail>, IDisposable
{
    private const string Smime = SecurityResult.SmimeType;
    private const string Sam = "sam@example.com";
    private const string Eve = "eve@example.com";
    private const string Support = MailboxStore.Account;

    private readonly TempDirectory _files = new("outgoing-smime");

    [Theory]
    [InlineData(SmimeMail.Sam)]
    [InlineData(SmimeMail.Eve)]
    public void A_signed_message_verifies_in_openssl_smime_and_cms_against_the_root_alone(string signer)
    {
        using var sender = SenderStore();
        var message = OutgoingMail.Tricky($"{signer}@example.com", Support);

        var result = new OutgoingSecurity(sender.Store).Protect(message, OutgoingRequest.Smime(sign: true, encrypt: false));

        Assert.False(result.IsRefused, result.Refusal);
        var sent = OutgoingMail.ThroughLfFile(result.Message, _files.File("signed.eml"));
        Assert.Equal("multipart/signed", IncomingMail.BodyType(sent).MimeType);
        Assert.Equal("application/pkcs7-signature", IncomingMail.BodyType(sent).Parameters["protocol"]);
        Assert.Equal("sha-256", IncomingMail.BodyType(sent).Parameters["micalg"]);

        foreach (var command in new[] { "smime", "cms" })
        {
            var content = mail.OpenSsl(OutgoingMail.LfBytes(sent), command, "-verify", "-CAfile", mail.Certificate("root"));
            OutgoingMail.AssertTrickyContent(SignedContent.Parse(content));
        }
    }

    [Theory]
    [InlineData(SmimeMail.Sam, "RSA")]
    [InlineData(SmimeMail.Eve, "ECDsa")]
    public void The_signature_carries_the_signer_and_the_intermediate_but_not_the_root_and_the_stores_time(string signer, string keyType)
    {
        using var sender = SenderStore();
        sender.Time.Advance(TimeSpan.FromDays(3));

        var result = new OutgoingSecurity(sender.Store).Protect(
            OutgoingMail.Plain($"{signer}@example.com", Support, "Hello"), OutgoingRequest.Smime(sign: true, encrypt: false));

        Assert.False(result.IsRefused, result.Refusal);
        var (content, signature) = OutgoingMail.DetachedParts(result.Message, "application/pkcs7-signature");
        var cms = new SignedCms(new ContentInfo(content), detached: true);
        cms.Decode(signature);
        cms.CheckSignature(verifySignatureOnly: true);
        var subjects = cms.Certificates.Select(c => c.Subject).ToList();
        Assert.Equal(2, subjects.Count);
        Assert.Contains(subjects, s => s.Contains("RuleMail Interop Intermediate CA", StringComparison.Ordinal));
        Assert.DoesNotContain(subjects, s => s.Contains("Root CA", StringComparison.Ordinal));
        var signerInfo = Assert.Single(cms.SignerInfos.Cast<SignerInfo>());
        Assert.Equal("2.16.840.1.101.3.4.2.1", signerInfo.DigestAlgorithm.Value);
        using var key = keyType == "RSA" ? (AsymmetricAlgorithm?)signerInfo.Certificate!.GetRSAPublicKey() : signerInfo.Certificate!.GetECDsaPublicKey();
        Assert.NotNull(key);
        var signingTime = signerInfo.SignedAttributes.Cast<CryptographicAttributeObject>()
            .Where(a => a.Oid.Value == "1.2.840.113549.1.9.5")
            .Select(a => new Pkcs9SigningTime(a.Values[0].RawData).SigningTime)
            .Single();
        Assert.Equal(sender.Time.GetUtcNow().UtcDateTime, signingTime, TimeSpan.FromSeconds(1));
    }

    [Theory]
    [InlineData(SmimeMail.Sam)]
    [InlineData(SmimeMail.Eve)]
    public void A_signed_message_verifies_in_gpgsm(string signer)
    {
        using var sender = SenderStore();
        var result = new OutgoingSecurity(sender.Store).Protect(
            OutgoingMail.Tricky($"{signer}@example.com", Support), OutgoingRequest.Smime(sign: true, encrypt: false));
        Assert.False(result.IsRefused, result.Refusal);
        var sent = OutgoingMail.ThroughLfFile(result.Message, _files.File("signed.eml"));
        var (content, signature) = OutgoingMail.DetachedParts(sent, "application/pkcs7-signature");

        using var gpgsm = new GpgsmVerifier(SmimeMail.Files["root.crt"]);
        var verified = gpgsm.Verify(signature, content);

        Assert.Contains("GOODSIG", verified.StandardOutputText, StringComparison.Ordinal);
        Assert.Contains("TRUST_FULLY", verified.StandardOutputText, StringComparison.Ordinal);
    }

    [Fact]
    public void An_encrypted_message_opens_in_openssl_with_the_recipients_key_and_with_the_senders_own()
    {
        using var sender = SenderStore();
        var result = new OutgoingSecurity(sender.Store).Protect(OutgoingMail.Tricky(Sam, Support), OutgoingRequest.Smime(sign: false, encrypt: true));

        Assert.False(result.IsRefused, result.Refusal);
        var sent = OutgoingMail.ThroughLfFile(result.Message, _files.File("encrypted.eml"));
        var body = Assert.IsAssignableFrom<MimePart>(sent.Body);
        Assert.Equal("application/pkcs7-mime", body.ContentType.MimeType);
        Assert.Equal("enveloped-data", body.ContentType.Parameters["smime-type"]);
        Assert.Equal("smime.p7m", body.ContentType.Name);
        IncomingMail.AssertNowhere(sent, "Zürich");

        var cms = new EnvelopedCms();
        cms.Decode(OutgoingMail.Decoded(body));
        Assert.Equal("2.16.840.1.101.3.4.1.42", cms.ContentEncryptionAlgorithm.Oid.Value);
        Assert.Equal(2, cms.RecipientInfos.Count);

        foreach (var key in new[] { SmimeMail.Support, SmimeMail.Sam })
        {
            var decrypted = mail.OpenSsl(OutgoingMail.LfBytes(sent), "smime", "-decrypt", "-recip", mail.Certificate(key), "-inkey", mail.Key(key));
            OutgoingMail.AssertTrickyContent(SignedContent.Parse(decrypted));
        }
    }

    [Theory]
    [InlineData(SmimeMail.Sam)]
    [InlineData(SmimeMail.Eve)]
    public void A_signed_and_encrypted_message_opens_in_openssl_and_the_inner_signature_verifies(string signer)
    {
        using var sender = SenderStore();
        var result = new OutgoingSecurity(sender.Store).Protect(
            OutgoingMail.Tricky($"{signer}@example.com", Support), OutgoingRequest.Smime(sign: true, encrypt: true));

        Assert.False(result.IsRefused, result.Refusal);
        var sent = OutgoingMail.ThroughLfFile(result.Message, _files.File("signed-encrypted.eml"));
        Assert.Equal("application/pkcs7-mime", IncomingMail.BodyType(sent).MimeType);

        var decrypted = mail.OpenSsl(OutgoingMail.LfBytes(sent), "smime", "-decrypt", "-recip", mail.Certificate(SmimeMail.Support), "-inkey", mail.Key(SmimeMail.Support));
        var inner = SignedContent.Parse(decrypted);
        Assert.Equal("multipart/signed", inner.ContentType.MimeType);
        var content = mail.OpenSsl(decrypted, "smime", "-verify", "-CAfile", mail.Certificate("root"));
        OutgoingMail.AssertTrickyContent(SignedContent.Parse(content));
    }

    [Fact]
    public void The_sent_copy_of_a_signed_and_encrypted_message_opens_with_the_senders_own_key()
    {
        using var sender = SenderStore();
        var result = new OutgoingSecurity(sender.Store).Protect(OutgoingMail.Tricky(Sam, Support), OutgoingRequest.Smime(sign: true, encrypt: true));

        Assert.False(result.IsRefused, result.Refusal);
        var decrypted = mail.OpenSsl(OutgoingMail.LfBytes(result.Message), "smime", "-decrypt", "-recip", mail.Certificate(SmimeMail.Sam), "-inkey", mail.Key(SmimeMail.Sam));
        var content = mail.OpenSsl(decrypted, "cms", "-verify", "-CAfile", mail.Certificate("root"));
        OutgoingMail.AssertTrickyContent(SignedContent.Parse(content));
    }

    [Fact]
    public void Without_encrypting_to_the_sender_only_the_recipient_can_open_it()
    {
        using var sender = SenderStore();
        var request = OutgoingRequest.Smime(sign: false, encrypt: true) with { EncryptToSender = false };

        var result = new OutgoingSecurity(sender.Store).Protect(OutgoingMail.Plain(Sam, Support, "Only for support"), request);

        Assert.False(result.IsRefused, result.Refusal);
        var cms = new EnvelopedCms();
        cms.Decode(OutgoingMail.Decoded(Assert.IsAssignableFrom<MimePart>(result.Message.Body)));
        Assert.Single(cms.RecipientInfos);
        var refused = ExternalTool.TryRun("openssl", [
            "smime", "-decrypt", "-recip", mail.Certificate(SmimeMail.Sam), "-inkey", mail.Key(SmimeMail.Sam), "-in", Write("only.eml", OutgoingMail.LfBytes(result.Message))]);
        Assert.NotEqual(0, refused.ExitCode);
    }

    [Fact]
    public void A_sender_without_an_encryption_certificate_is_told_the_sent_copy_is_unreadable()
    {
        using var sender = SenderStore();

        var result = new OutgoingSecurity(sender.Store).Protect(OutgoingMail.Plain(Eve, Support, "From an EC sender"), OutgoingRequest.Smime(sign: true, encrypt: true));

        Assert.False(result.IsRefused, result.Refusal);
        Assert.Contains(result.Notes, n => n.StartsWith($"The sent copy cannot be decrypted by {Eve}", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void RuleMail_itself_opens_and_verifies_what_it_sent(bool sign, bool encrypt)
    {
        using var sender = SenderStore();
        using var receiver = ReceiverStore();
        var message = OutgoingMail.Tricky(Sam, Support);

        var result = new OutgoingSecurity(sender.Store).Protect(message, OutgoingRequest.Smime(sign, encrypt));

        Assert.False(result.IsRefused, result.Refusal);
        var report = receiver.Inspect(OutgoingMail.ThroughLfFile(result.Message, _files.File("roundtrip.eml")));
        Assert.Equal(Smime, report.Security.Type);
        if (sign)
        {
            SecurityAssert.Signed(report.Security, Smime);
        }
        else
        {
            Assert.Null(report.Security.Sign);
        }

        if (encrypt)
        {
            SecurityAssert.Decrypted(report.Security, Smime);
        }
        else
        {
            Assert.Null(report.Security.Encryption);
        }

        var body = report.Message.Body is Multipart { ContentType.MimeType: "multipart/signed" } signed ? signed[0] : report.Message.Body;
        OutgoingMail.AssertTrickyContent(body);
        Assert.Equal(message.Subject, report.Message.Subject);
        Assert.Equal(message.MessageId, report.Message.MessageId);
        Assert.Equal("4711", report.Message.Headers["X-Ticket"]);
    }

    [Fact]
    public void What_is_signed_is_safe_for_any_relay_and_the_callers_message_is_left_as_it_was()
    {
        using var sender = SenderStore();
        var message = OutgoingMail.Tricky(Sam, Support);
        var before = OutgoingMail.Canonical(message.Body!);

        var result = new OutgoingSecurity(sender.Store).Protect(message, OutgoingRequest.Smime(sign: true, encrypt: false));

        Assert.False(result.IsRefused, result.Refusal);
        var signed = Assert.IsAssignableFrom<Multipart>(result.Message.Body);
        OutgoingMail.AssertSevenBitSafe(signed[0]);
        OutgoingMail.AssertNoFragileLines(OutgoingMail.Canonical(signed[0]));
        Assert.Equal(before, OutgoingMail.Canonical(message.Body!));
        Assert.Equal(ContentEncoding.EightBit, OutgoingMail.AllParts(message.Body!).First(p => p.FileName == "notes.txt").ContentTransferEncoding);
    }

    [Fact]
    public void The_outer_headers_stay_and_ruleMails_own_control_headers_go()
    {
        using var sender = SenderStore();
        var message = OutgoingMail.Plain("Sam Sender <sam@example.com>", "RuleMail Support <support@rulemail.test>", "Hello", "Ticket #4711");
        message.Cc.Add(MailboxAddress.Parse("sam@example.com"));
        message.Headers.Add("X-RuleMail-Sign", "yes");
        message.Headers.Add("X-RuleMail-Type", "smime");

        var result = new OutgoingSecurity(sender.Store).Protect(message, OutgoingRequest.Smime(sign: true, encrypt: true));

        Assert.False(result.IsRefused, result.Refusal);
        var sent = OutgoingMail.ThroughLfFile(result.Message, _files.File("headers.eml"));
        Assert.Equal("Ticket #4711", sent.Subject);
        Assert.Equal(message.MessageId, sent.MessageId);
        Assert.Equal(message.Date, sent.Date);
        Assert.Equal("Sam Sender", sent.From.Mailboxes.Single().Name);
        Assert.Equal(Support, sent.To.Mailboxes.Single().Address);
        Assert.Equal(Sam, sent.Cc.Mailboxes.Single().Address);
        Assert.Equal("4711", sent.Headers["X-Ticket"]);
        Assert.Equal("1.0", sent.Headers[HeaderId.MimeVersion]);
        Assert.DoesNotContain(sent.Headers, h => h.Field.StartsWith("X-RuleMail-", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void The_newest_valid_certificate_signs_and_encrypts_and_an_expired_one_does_not_get_in_the_way()
    {
        using var ca = new CertificateAuthority();
        using var store = new MailboxStore();
        var now = store.Time.GetUtcNow();
        const string Lena = "lena@example.org";
        var expired = ca.Issue("CN=Lena Expired", now.AddDays(-400), now.AddDays(-1), [Lena]);
        var older = ca.Issue("CN=Lena Older", now.AddDays(-100), now.AddDays(200), [Lena]);
        var newest = ca.Issue("CN=Lena Newest", now.AddDays(-10), now.AddDays(300), [Lena]);
        store.Import(
            ca.CaFile,
            CertificateAuthority.Pem("expired.crt", expired),
            CertificateAuthority.Pem("older.crt", older),
            CertificateAuthority.Pem("newest.crt", newest),
            new ImportFile("lena.key", Encoding.ASCII.GetBytes(ca.LeafKey.ExportPkcs8PrivateKeyPem())));
        var security = new OutgoingSecurity(store.Store);

        var signed = security.Protect(OutgoingMail.Plain(Lena, Lena, "Hi"), OutgoingRequest.Smime(sign: true, encrypt: false));
        var encrypted = security.Protect(OutgoingMail.Plain(Lena, Lena, "Hi"), OutgoingRequest.Smime(sign: false, encrypt: true));

        Assert.False(signed.IsRefused, signed.Refusal);
        var (content, signature) = OutgoingMail.DetachedParts(signed.Message, "application/pkcs7-signature");
        var cms = new SignedCms(new ContentInfo(content), detached: true);
        cms.Decode(signature);
        Assert.Equal("CN=Lena Newest", cms.SignerInfos[0].Certificate!.Subject);
        Assert.False(encrypted.IsRefused, encrypted.Refusal);
        var envelope = new EnvelopedCms();
        envelope.Decode(OutgoingMail.Decoded(Assert.IsAssignableFrom<MimePart>(encrypted.Message.Body)));
        var recipient = Assert.Single(envelope.RecipientInfos.Cast<RecipientInfo>());
        var issuerAndSerial = Assert.IsType<System.Security.Cryptography.Xml.X509IssuerSerial>(recipient.RecipientIdentifier.Value);
        Assert.Equal(newest.SerialNumber, issuerAndSerial.SerialNumber);
    }

    [Fact]
    public void Signing_for_a_sender_without_a_certificate_and_private_key_is_refused_and_returns_no_message()
    {
        using var sender = SenderStore();
        var security = new OutgoingSecurity(sender.Store);

        var unknown = security.Protect(OutgoingMail.Plain("nobody@example.com", Support, "Hi"), OutgoingRequest.Smime(sign: true, encrypt: false));
        var withoutKey = security.Protect(OutgoingMail.Plain(Support, Sam, "Hi"), OutgoingRequest.Smime(sign: true, encrypt: false));

        AssertRefused(unknown, "Cannot sign with S/MIME: no valid certificate with a private key for nobody@example.com");
        AssertRefused(withoutKey, "Cannot sign with S/MIME: no valid certificate with a private key for support@rulemail.test");
    }

    [Fact]
    public void Encrypting_to_a_recipient_without_a_certificate_is_refused_even_when_another_recipient_has_one()
    {
        using var sender = SenderStore();
        var message = OutgoingMail.Plain(Sam, Support, "Secret");
        message.Cc.Add(MailboxAddress.Parse("Bob <bob@example.org>"));

        var result = new OutgoingSecurity(sender.Store).Protect(message, OutgoingRequest.Smime(sign: true, encrypt: true));

        AssertRefused(result, "Cannot encrypt with S/MIME: no valid certificate for bob@example.org");
    }

    [Fact]
    public void Encrypting_to_a_recipient_whose_only_certificate_has_an_ec_key_is_refused()
    {
        using var sender = SenderStore();

        var result = new OutgoingSecurity(sender.Store).Protect(OutgoingMail.Plain(Sam, Eve, "Secret"), OutgoingRequest.Smime(sign: false, encrypt: true));

        AssertRefused(result, OutgoingRefusals.NotAnRsaCertificate(Eve, "CN=Eve Elliptic"));
    }

    [Fact]
    public void Once_the_certificates_have_expired_signing_and_encryption_are_refused()
    {
        using var sender = SenderStore();
        sender.Time.Advance(TimeSpan.FromDays(400));
        var security = new OutgoingSecurity(sender.Store);

        AssertRefused(
            security.Protect(OutgoingMail.Plain(Sam, Support, "Late"), OutgoingRequest.Smime(sign: true, encrypt: false)),
            "Cannot sign with S/MIME: no valid certificate with a private key for sam@example.com");
        AssertRefused(
            security.Protect(OutgoingMail.Plain(Sam, Support, "Late"), OutgoingRequest.Smime(sign: false, encrypt: true)),
            "Cannot encrypt with S/MIME: no valid certificate for support@rulemail.test");
    }

    [Fact]
    public void A_locked_private_key_is_a_refusal_not_an_exception()
    {
        using var sender = SenderStore();
        var locked = KeyStore.Open(sender.Store.Directory, new KeyStoreOptions { Time = sender.Time });

        var result = new OutgoingSecurity(locked).Protect(OutgoingMail.Plain(Sam, Support, "Hi"), OutgoingRequest.Smime(sign: true, encrypt: true));

        Assert.True(result.IsRefused);
        Assert.Null(result.Message);
        Assert.StartsWith("Cannot sign with S/MIME: the private key for sam@example.com could not be opened (", result.Refusal, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("x509", true, false, "Cannot sign or encrypt: unknown security type \"x509\" (expected S/MIME or PGP)")]
    [InlineData("smime", false, true, "Cannot encrypt with S/MIME: the message has no recipient (To or Cc)")]
    public void Impossible_requests_are_refused(string type, bool sign, bool encrypt, string refusal)
    {
        using var sender = SenderStore();
        var message = OutgoingMail.Plain(Sam, Support, "Hi");
        message.To.Clear();
        message.Bcc.Add(MailboxAddress.Parse(Support));

        var result = new OutgoingSecurity(sender.Store).Protect(message, new OutgoingRequest(type, sign, encrypt));

        AssertRefused(result, refusal);
    }

    [Fact]
    public void A_content_cipher_other_than_aes_cbc_is_refused()
    {
        using var sender = SenderStore();
        var request = OutgoingRequest.Smime(sign: false, encrypt: true) with { SmimeCipherOid = "1.2.840.113549.3.7" };

        var result = new OutgoingSecurity(sender.Store).Protect(OutgoingMail.Plain(Sam, Support, "Hi"), request);

        AssertRefused(result, OutgoingRefusals.UnsupportedCipher("1.2.840.113549.3.7"));
    }

    public void Dispose() => _files.Dispose();

    private static void AssertRefused(OutgoingResult result, string refusal)
    {
        Assert.True(result.IsRefused, "the request was carried out");
        Assert.Null(result.Message);
        Assert.Equal(refusal, result.Refusal);
    }

    private MailboxStore SenderStore() => MailboxStore.With(
        [mail["root.crt"], mail["inter.crt"], .. mail.WithPrivateKey(SmimeMail.Sam), .. mail.WithPrivateKey(SmimeMail.Eve), mail["support.crt"]]);

    private MailboxStore ReceiverStore() => MailboxStore.With(
        [mail["root.crt"], mail["inter.crt"], .. mail.WithPrivateKey(SmimeMail.Support), mail["sam.crt"], mail["eve.crt"]]);

    private string Write(string name, byte[] content)
    {
        File.WriteAllBytes(_files.File(name), content);
        return _files.File(name);
    }
}
