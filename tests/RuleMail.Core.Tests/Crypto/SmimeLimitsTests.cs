using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// What hostile S/MIME structure may cost: SignerInfos beyond <see cref="SecurityPolicy.MaxSignatures"/> refuse
/// the message before any is checked; private-key attempts stop at <see cref="SecurityPolicy.MaxKeyAttempts"/>
/// real decryptions; recipients are matched to the store's keys in one pass. Costs are bounded by allocation
/// and by counts the outcome shows, not by wall-clock asserts; allocation is counted on the test's own thread
/// (the checks are synchronous), so tests running in parallel do not add to it.
/// </summary>
public sealed class SmimeLimitsTests(SmimeMail mail) : IClassFixture<SmimeMail>
{
    private const string Body = "Limits test body.\n";
    private const string Sender = "sam@example.com";

    private MailboxStore Store() => MailboxStore.With([mail["root.crt"], mail["inter.crt"], .. mail.WithPrivateKey(SmimeMail.Support)]);

    private static SecurityResult Inspect(MailboxStore store, byte[] message, SecurityPolicy? policy = null) =>
        new IncomingSecurity(store.Store, policy).Inspect(IncomingMail.Load(message)).Security;

    [Theory]
    [InlineData(16, true)]
    [InlineData(17, false)]
    public void Good_signer_infos_up_to_the_limit_verify_and_one_more_refuses_the_message(int signers, bool verifies)
    {
        using var store = Store();
        var entity = IncomingMail.TextEntity(Body);
        using var sam = X509Certificate2.CreateFromPemFile(mail.Certificate(SmimeMail.Sam), mail.Key(SmimeMail.Sam));
        var cms = new SignedCms(new ContentInfo(entity), detached: true);
        for (var i = 0; i < signers; i++)
        {
            cms.ComputeSignature(new CmsSigner(sam) { IncludeOption = X509IncludeOption.EndCertOnly });
        }

        var result = Inspect(store, HandBuiltCms.DetachedMessage(entity, cms.Encode(), Sender, MailboxStore.Account));

        if (verifies)
        {
            SecurityAssert.Signed(result, SecurityResult.SmimeType);
        }
        else
        {
            // Every one of them is good, so judging any would have verified: none was judged.
            SecurityAssert.SignFailed(result, SecurityResult.SmimeType, SecurityComments.TooManySignatures(17, SecurityPolicy.Default.MaxSignatures));
        }
    }

    [Fact]
    public void The_limit_comes_from_the_policy()
    {
        using var store = Store();
        var entity = IncomingMail.TextEntity(Body);
        var der = mail.CmsSign(entity, SmimeMail.Sam, "-outform", "DER");
        var twice = HandBuiltCms.WithSignerInfos(der, signers => [signers[0], signers[0]]);

        var result = Inspect(store, HandBuiltCms.DetachedMessage(entity, twice, Sender, MailboxStore.Account), new SecurityPolicy { MaxSignatures = 1 });

        SecurityAssert.SignFailed(result, SecurityResult.SmimeType, SecurityComments.TooManySignatures(2, 1));
    }

    [Fact]
    public void Five_thousand_signer_infos_over_a_large_content_are_refused_at_the_cost_of_reading_them()
    {
        // Copies of a signer whose signature was damaged: judged one by one, each would hash the 1 MB content and
        // run a public-key operation before failing.
        using var store = Store();
        var entity = IncomingMail.TextEntity(string.Concat(Enumerable.Repeat("large content line to be hashed per signer\n", 24_000)));
        var der = mail.CmsSign(entity, SmimeMail.Sam, "-outform", "DER");
        var many = HandBuiltCms.WithSignerInfos(der, signers => Enumerable.Repeat(DamagedSignature(signers[0]), 5_000));
        var message = IncomingMail.Load(HandBuiltCms.DetachedMessage(entity, many, Sender, MailboxStore.Account));
        var security = new IncomingSecurity(store.Store);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var result = security.Inspect(message).Security;
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        SecurityAssert.SignFailed(result, SecurityResult.SmimeType, SecurityComments.TooManySignatures(5_000, SecurityPolicy.Default.MaxSignatures));
        Assert.True(allocated < 20L * many.Length + entity.Length * 4L, $"refusing {many.Length:N0} bytes of SignerInfos allocated {allocated:N0} bytes");
    }

    [Theory]
    [InlineData(100, true)]
    [InlineData(101, false)]
    public void A_signature_may_carry_a_hundred_certificates_and_not_one_more(int certificates, bool verifies)
    {
        using var store = Store();
        var entity = IncomingMail.TextEntity(Body);
        var der = mail.CmsSign(entity, SmimeMail.Sam, "-outform", "DER", "-certfile", mail.Certificate("inter"));
        var padded = HandBuiltCms.WithCertificates(der, carried => [carried[0], .. Enumerable.Repeat(carried[1], certificates - 1)]);

        var result = Inspect(store, HandBuiltCms.DetachedMessage(entity, padded, Sender, MailboxStore.Account));

        if (verifies)
        {
            SecurityAssert.Signed(result, SecurityResult.SmimeType);
        }
        else
        {
            SecurityAssert.SignFailed(result, SecurityResult.SmimeType, SecurityComments.TooManyCertificates(101, 100));
        }
    }

    [Fact]
    public void Ten_thousand_carried_certificates_are_counted_not_read()
    {
        // Read, each would become an X509Certificate2: about 5 KB of allocation apiece (measured), 50 MB more here;
        // parsing and decoding the message itself costs about 2.6 times its signature (measured).
        using var store = Store();
        var entity = IncomingMail.TextEntity(Body);
        var der = mail.CmsSign(entity, SmimeMail.Sam, "-outform", "DER", "-certfile", mail.Certificate("inter"));
        var padded = HandBuiltCms.WithCertificates(der, carried => [carried[0], .. Enumerable.Repeat(carried[1], 9_999)]);
        var message = IncomingMail.Load(HandBuiltCms.DetachedMessage(entity, padded, Sender, MailboxStore.Account));
        var security = new IncomingSecurity(store.Store);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var result = security.Inspect(message).Security;
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        SecurityAssert.SignFailed(result, SecurityResult.SmimeType, SecurityComments.TooManyCertificates(10_000, 100));
        Assert.True(allocated < 4L * padded.Length, $"refusing {padded.Length:N0} bytes of certificates allocated {allocated:N0} bytes");
    }

    [Theory]
    [InlineData("-aes256", "aes256-cbc", Integrity.None)]
    [InlineData("-aes-256-gcm", "aes256-gcm", Integrity.Aead)]
    public void Recipients_naming_the_accounts_key_stop_being_tried_at_the_attempt_limit(string cipher, string cipherName, string integrity)
    {
        // 20 recipients naming the account's certificate whose encrypted keys do not open, then the real one.
        using var store = Store();
        var der = mail.OpenSsl(IncomingMail.TextEntity(Body), "cms", "-encrypt", cipher, "-outform", "DER", "-recip", mail.Certificate(SmimeMail.Support));
        var padded = HandBuiltCms.WithRecipientInfos(der, recipients => [.. Enumerable.Repeat(HandBuiltCms.WithEncryptedKey(recipients[0], new byte[256]), 20), recipients[0]]);
        var message = HandBuiltCms.EnvelopedMessage(padded, Sender, MailboxStore.Account);

        var capped = Inspect(store, message);
        var roomy = Inspect(store, message, new SecurityPolicy { MaxKeyAttempts = 21 });

        SecurityAssert.DecryptionFailed(capped, SecurityResult.SmimeType, SecurityComments.TooManyKeyAttempts(SecurityPolicy.Default.MaxKeyAttempts));
        Assert.Equal(cipherName, capped.Encryption!.Cipher);
        Assert.Equal(integrity, capped.Encryption.Integrity);
        SecurityAssert.Decrypted(roomy, SecurityResult.SmimeType);
    }

    [Fact]
    public void A_hundred_thousand_recipients_naming_the_accounts_key_cost_at_most_the_attempt_limit()
    {
        using var store = Store();
        var der = mail.OpenSsl(IncomingMail.TextEntity(Body), "cms", "-encrypt", "-aes256", "-outform", "DER", "-recip", mail.Certificate(SmimeMail.Support));
        var garbage = HandBuiltCms.WithRecipientInfos(der, recipients => Enumerable.Repeat(HandBuiltCms.WithEncryptedKey(recipients[0], [0x42]), 100_000));

        var (outcome, plaintext) = new SmimeDecryption(store.Store, SecurityPolicy.Default).Decrypt(garbage, [MailboxStore.Account]);

        Assert.Null(plaintext);
        Assert.Equal(SecurityComments.TooManyKeyAttempts(SecurityPolicy.Default.MaxKeyAttempts), outcome.Comment);
    }

    [Fact]
    public void A_hundred_thousand_foreign_recipients_before_the_accounts_own_are_matched_in_one_pass()
    {
        using var store = Store();
        var der = mail.OpenSsl(IncomingMail.TextEntity(Body), "cms", "-encrypt", "-aes256", "-outform", "DER",
            "-recip", mail.Certificate(SmimeMail.Stranger), "-recip", mail.Certificate(SmimeMail.Support));
        var crowded = HandBuiltCms.WithRecipientInfos(der, recipients =>
            [.. Enumerable.Repeat(HandBuiltCms.WithEncryptedKey(recipients[0], [0x42]), 100_000), recipients[1]]);
        var decryption = new SmimeDecryption(store.Store, SecurityPolicy.Default);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var (outcome, plaintext) = decryption.Decrypt(crowded, [MailboxStore.Account]);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(outcome.Success, outcome.Comment);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(Encoding.UTF8.GetString(plaintext!).Split("\r\n\r\n", 2)[1]));
        // Linear: about 3 KB per recipient is what decoding one and naming whom it is for costs (measured); a
        // pass per key, or a list of every pair, would show as a multiple of it.
        Assert.True(allocated < 100_001 * 4096L, $"matching 100,001 recipients ({crowded.Length:N0} bytes) allocated {allocated:N0} bytes");
    }

    [Fact]
    public void A_store_with_more_private_keys_than_the_attempt_limit_still_opens_mail_for_any_of_them()
    {
        // Only real decryptions count: keys that match no recipient are never tried, so each of three keys opens
        // its message with a limit of one attempt, whatever order the store lists them in.
        using var ca = new CertificateAuthority();
        using var store = Store();
        var now = TimeProvider.System.GetUtcNow();
        var owners = new List<X509Certificate2>();
        for (var i = 0; i < 2; i++)
        {
            using var key = RSA.Create(2048);
            var address = $"desk{i}@rulemail.test";
            var certificate = ca.Issue($"CN=Desk {i}", now.AddDays(-1), now.AddDays(30), [address], key: key);
            store.Import(CertificateAuthority.Pem($"desk{i}.crt", certificate), new ImportFile($"desk{i}.key", Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem())));
            owners.Add(certificate);
        }

        owners.Add(SmimeMail.LoadCertificate(SmimeMail.Support));
        var policy = new SecurityPolicy { MaxKeyAttempts = 1 };
        foreach (var owner in owners)
        {
            var envelope = new EnvelopedCms(new ContentInfo(IncomingMail.TextEntity(Body)));
            envelope.Encrypt(new CmsRecipient(owner));

            var result = Inspect(store, HandBuiltCms.EnvelopedMessage(envelope.Encode(), Sender, "list@rulemail.test"), policy);

            SecurityAssert.Decrypted(result, SecurityResult.SmimeType);
            Assert.Contains(owner.Subject, result.Encryption!.Comment, StringComparison.Ordinal);
        }
    }

    /// <summary>The SignerInfo with the last byte of its signature (the final OCTET STRING) changed.</summary>
    private static byte[] DamagedSignature(byte[] signerInfo)
    {
        var copy = signerInfo.ToArray();
        copy[^1] ^= 0x01;
        return copy;
    }
}
