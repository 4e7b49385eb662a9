using MimeKit;
using Org.BouncyCastle.Bcpg.OpenPgp;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// PGP/MIME that RuleMail sends is read by the real gpg and by RuleMail itself: gpg verifies the detached
/// signature over the first part's canonical bytes, as a mail client hands them over; gpg decrypts with only the
/// recipient's (or the sender's own) secret key in a fresh GNUPGHOME, reports AES-256 with integrity protection,
/// and for sign+encrypt a good signature; IncomingSecurity opens and verifies every shape. RSA and
/// Ed25519/Cv25519 senders and recipients. Every message goes through a file with LF line ends first.
/// </summary>
/// <remarks>
/// The sender's store holds the secret keys of paul (RSA) and erik (Ed25519 + Cv25519) and the public keys of the
/// recipients support (RSA) and desk (Cv25519); the receiving store holds the recipients' secret keys and the
/// senders' public keys.
/// </remarks>
public sealed class OutgoingPgpTests(PgpMail gpg) : IClassFixture<PgpMail>, IDisposable
{
    private const string Pgp = SecurityResult.PgpType;
    private const string Passphrase = PgpMail.FilePassphrase;

    private readonly TempDirectory _files = new("outgoing-pgp");

    [Theory]
    [InlineData(PgpMail.Paul)]
    [InlineData(PgpMail.Erik)]
    public void A_signed_message_verifies_in_gpg_over_the_first_parts_canonical_bytes(string signer)
    {
        using var sender = SenderStore();
        var result = new OutgoingSecurity(sender.Store).Protect(
            OutgoingMail.Tricky(PgpMail.Address(signer), PgpMail.Address(PgpMail.Support)), OutgoingRequest.Pgp(sign: true, encrypt: false));

        Assert.False(result.IsRefused, result.Refusal);
        var sent = OutgoingMail.ThroughLfFile(result.Message, _files.File("signed.eml"));
        Assert.Equal("pgp-sha256", IncomingMail.BodyType(sent).Parameters["micalg"]);
        var (content, signature) = OutgoingMail.DetachedParts(sent, "application/pgp-signature");
        Assert.StartsWith("-----BEGIN PGP SIGNATURE-----", System.Text.Encoding.ASCII.GetString(signature), StringComparison.Ordinal);

        using var verifier = new GnuPG();
        verifier.Run(gpg.Public(signer).Content, "--import");
        var verified = verifier.Run("--status-fd", "1", "--verify", Write("signature.asc", signature), Write("content", content));

        Assert.Contains("Good signature from", verified.StandardError, StringComparison.Ordinal);
        AssertGoodSignature(verified.StandardOutputText, signer);
        OutgoingMail.AssertTrickyContent(SignedContent.Parse(content));
    }

    [Fact]
    public void A_changed_first_part_fails_in_gpg()
    {
        using var sender = SenderStore();
        var result = new OutgoingSecurity(sender.Store).Protect(
            OutgoingMail.Plain(PgpMail.Address(PgpMail.Paul), PgpMail.Address(PgpMail.Support), "Pay 100 EUR"), OutgoingRequest.Pgp(sign: true, encrypt: false));
        Assert.False(result.IsRefused, result.Refusal);
        var (content, signature) = OutgoingMail.DetachedParts(result.Message, "application/pgp-signature");
        var changed = System.Text.Encoding.ASCII.GetBytes(System.Text.Encoding.ASCII.GetString(content).Replace("100", "900", StringComparison.Ordinal));

        using var verifier = new GnuPG();
        verifier.Run(gpg.Public(PgpMail.Paul).Content, "--import");
        var verified = verifier.TryRun(null, "--status-fd", "1", "--verify", Write("signature.asc", signature), Write("changed", changed));

        Assert.NotEqual(0, verified.ExitCode);
        Assert.Contains("BADSIG", verified.StandardOutputText, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(PgpMail.Paul, PgpMail.Support)]
    [InlineData(PgpMail.Erik, PgpMail.Desk)]
    public void An_encrypted_message_opens_in_gpg_for_the_recipient_and_the_sender_with_aes256_and_integrity_protection(string from, string to)
    {
        using var sender = SenderStore();
        var result = new OutgoingSecurity(sender.Store).Protect(
            OutgoingMail.Tricky(PgpMail.Address(from), PgpMail.Address(to)), OutgoingRequest.Pgp(sign: false, encrypt: true));

        Assert.False(result.IsRefused, result.Refusal);
        var sent = OutgoingMail.ThroughLfFile(result.Message, _files.File("encrypted.eml"));
        var payload = EncryptedPayload(sent);
        IncomingMail.AssertNowhere(sent, "Zürich");

        foreach (var key in new[] { to, from })
        {
            var (plaintext, status) = Decrypt(key, payload);
            Assert.Contains("[GNUPG:] DECRYPTION_OKAY", status, StringComparison.Ordinal);
            Assert.Contains("[GNUPG:] GOODMDC", status, StringComparison.Ordinal);
            Assert.Contains("[GNUPG:] DECRYPTION_INFO 2 9", status, StringComparison.Ordinal);
            Assert.DoesNotContain("GOODSIG", status, StringComparison.Ordinal);
            OutgoingMail.AssertTrickyContent(SignedContent.Parse(plaintext));
        }
    }

    [Theory]
    [InlineData(PgpMail.Paul, PgpMail.Support)]
    [InlineData(PgpMail.Paul, PgpMail.Desk)]
    [InlineData(PgpMail.Erik, PgpMail.Support)]
    [InlineData(PgpMail.Erik, PgpMail.Desk)]
    public void A_signed_and_encrypted_message_opens_in_gpg_with_a_good_signature(string from, string to)
    {
        using var sender = SenderStore();
        var result = new OutgoingSecurity(sender.Store).Protect(
            OutgoingMail.Tricky(PgpMail.Address(from), PgpMail.Address(to)), OutgoingRequest.Pgp(sign: true, encrypt: true));

        Assert.False(result.IsRefused, result.Refusal);
        var sent = OutgoingMail.ThroughLfFile(result.Message, _files.File("signed-encrypted.eml"));

        var (plaintext, status) = Decrypt(to, EncryptedPayload(sent), from);

        Assert.Contains("[GNUPG:] GOODMDC", status, StringComparison.Ordinal);
        Assert.Contains("[GNUPG:] DECRYPTION_INFO 2 9", status, StringComparison.Ordinal);
        AssertGoodSignature(status, from);
        OutgoingMail.AssertTrickyContent(SignedContent.Parse(plaintext));
    }

    [Fact]
    public void The_encrypted_packet_is_integrity_protected_and_addressed_to_the_encryption_subkeys()
    {
        using var sender = SenderStore();
        var result = new OutgoingSecurity(sender.Store).Protect(
            OutgoingMail.Plain(PgpMail.Address(PgpMail.Erik), PgpMail.Address(PgpMail.Support), "Hello"), OutgoingRequest.Pgp(sign: true, encrypt: true));
        Assert.False(result.IsRefused, result.Refusal);

        var encrypted = Assert.IsAssignableFrom<Multipart>(result.Message.Body);
        Assert.Equal("multipart/encrypted", encrypted.ContentType.MimeType);
        Assert.Equal("application/pgp-encrypted", encrypted.ContentType.Parameters["protocol"]);
        var control = Assert.IsAssignableFrom<MimePart>(encrypted[0]);
        Assert.Equal("application/pgp-encrypted", control.ContentType.MimeType);
        Assert.Equal("Version: 1", System.Text.Encoding.ASCII.GetString(OutgoingMail.Decoded(control)).Trim());
        Assert.Equal("application/octet-stream", encrypted[1].ContentType.MimeType);

        var payload = EncryptedPayload(result.Message);
        Assert.DoesNotContain("Version:", System.Text.Encoding.ASCII.GetString(payload), StringComparison.Ordinal);
        var factory = new PgpObjectFactory(PgpUtilities.GetDecoderStream(new MemoryStream(payload)));
        var list = Assert.IsType<PgpEncryptedDataList>(factory.NextPgpObject());
        var packets = list.GetEncryptedDataObjects().Cast<PgpPublicKeyEncryptedData>().ToList();
        Assert.All(packets, p => Assert.True(p.IsIntegrityProtected()));
        var expected = new[] { EncryptionKeyId(sender.Store, PgpMail.Support), EncryptionKeyId(sender.Store, PgpMail.Erik) };
        Assert.Equal(expected.Order(), packets.Select(p => p.KeyId).Order());
    }

    [Fact]
    public void Without_encrypting_to_the_sender_only_the_recipients_key_can_open_it()
    {
        using var sender = SenderStore();
        var request = OutgoingRequest.Pgp(sign: false, encrypt: true) with { EncryptToSender = false };

        var result = new OutgoingSecurity(sender.Store).Protect(
            OutgoingMail.Plain(PgpMail.Address(PgpMail.Paul), PgpMail.Address(PgpMail.Desk), "Only for the desk"), request);

        Assert.False(result.IsRefused, result.Refusal);
        var payload = EncryptedPayload(result.Message);
        using var home = new GnuPG();
        home.Run(gpg.Secret(PgpMail.Paul).Content, "--pinentry-mode", "loopback", "--passphrase", Passphrase, "--import");
        var refused = home.TryRun(payload, "--pinentry-mode", "loopback", "--passphrase", Passphrase, "--decrypt");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("Only for the desk", System.Text.Encoding.UTF8.GetString(Decrypt(PgpMail.Desk, payload).Plaintext), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(PgpMail.Paul, true, false)]
    [InlineData(PgpMail.Erik, true, false)]
    [InlineData(PgpMail.Paul, false, true)]
    [InlineData(PgpMail.Erik, false, true)]
    [InlineData(PgpMail.Paul, true, true)]
    [InlineData(PgpMail.Erik, true, true)]
    public void RuleMail_itself_opens_and_verifies_what_it_sent(string from, bool sign, bool encrypt)
    {
        using var sender = SenderStore();
        using var receiver = MailboxStore.With(gpg.Secret(PgpMail.Support), gpg.Secret(PgpMail.Desk), gpg.Public(PgpMail.Paul), gpg.Public(PgpMail.Erik));
        var message = OutgoingMail.Tricky(PgpMail.Address(from), PgpMail.Address(PgpMail.Support), cc: PgpMail.Address(PgpMail.Desk));

        var result = new OutgoingSecurity(sender.Store).Protect(message, OutgoingRequest.Pgp(sign, encrypt));

        Assert.False(result.IsRefused, result.Refusal);
        var report = receiver.Inspect(OutgoingMail.ThroughLfFile(result.Message, _files.File("roundtrip.eml")));
        if (sign)
        {
            SecurityAssert.Signed(report.Security, Pgp);
        }
        else
        {
            Assert.Null(report.Security.Sign);
        }

        if (encrypt)
        {
            SecurityAssert.Decrypted(report.Security, Pgp);
        }
        else
        {
            Assert.Null(report.Security.Encryption);
        }

        var body = report.Message.Body is Multipart { ContentType.MimeType: "multipart/signed" } signed ? signed[0] : report.Message.Body;
        OutgoingMail.AssertTrickyContent(body);
        Assert.Equal(message.Subject, report.Message.Subject);
        Assert.Equal("4711", report.Message.Headers["X-Ticket"]);
    }

    [Fact]
    public void What_is_signed_is_safe_for_any_relay()
    {
        using var sender = SenderStore();

        var result = new OutgoingSecurity(sender.Store).Protect(
            OutgoingMail.Tricky(PgpMail.Address(PgpMail.Erik), PgpMail.Address(PgpMail.Desk)), OutgoingRequest.Pgp(sign: true, encrypt: false));

        Assert.False(result.IsRefused, result.Refusal);
        var signed = Assert.IsAssignableFrom<Multipart>(result.Message.Body);
        OutgoingMail.AssertSevenBitSafe(signed[0]);
        OutgoingMail.AssertNoFragileLines(OutgoingMail.LfBytes(result.Message));
    }

    [Fact]
    public void Signing_for_a_sender_without_a_secret_key_is_refused_and_returns_no_message()
    {
        using var sender = SenderStore();
        var security = new OutgoingSecurity(sender.Store);

        AssertRefused(
            security.Protect(OutgoingMail.Plain(PgpMail.Address(PgpMail.Support), PgpMail.Address(PgpMail.Paul), "Hi"), OutgoingRequest.Pgp(sign: true, encrypt: false)),
            "Cannot sign with PGP: no valid PGP key with a secret signing key for support@rulemail.test");
        AssertRefused(
            security.Protect(OutgoingMail.Plain("nobody@example.net", PgpMail.Address(PgpMail.Paul), "Hi"), OutgoingRequest.Pgp(sign: true, encrypt: true)),
            "Cannot sign with PGP: no valid PGP key with a secret signing key for nobody@example.net");
    }

    [Fact]
    public void Encrypting_to_a_recipient_without_a_key_is_refused_even_when_another_recipient_has_one()
    {
        using var sender = SenderStore();
        var message = OutgoingMail.Plain(PgpMail.Address(PgpMail.Paul), PgpMail.Address(PgpMail.Support), "Secret");
        message.Cc.Add(MailboxAddress.Parse("Stranger <stranger@example.com>"));

        var result = new OutgoingSecurity(sender.Store).Protect(message, OutgoingRequest.Pgp(sign: true, encrypt: true));

        AssertRefused(result, "Cannot encrypt with PGP: no valid PGP key for stranger@example.com");
    }

    [Fact]
    public void Once_the_keys_have_expired_signing_and_encryption_are_refused()
    {
        using var sender = SenderStore();
        sender.Time.Advance(TimeSpan.FromDays(3 * 365));
        var security = new OutgoingSecurity(sender.Store);

        AssertRefused(
            security.Protect(OutgoingMail.Plain(PgpMail.Address(PgpMail.Erik), PgpMail.Address(PgpMail.Desk), "Late"), OutgoingRequest.Pgp(sign: true, encrypt: false)),
            "Cannot sign with PGP: no valid PGP key with a secret signing key for erik@example.net");
        AssertRefused(
            security.Protect(OutgoingMail.Plain(PgpMail.Address(PgpMail.Erik), PgpMail.Address(PgpMail.Desk), "Late"), OutgoingRequest.Pgp(sign: false, encrypt: true)),
            "Cannot encrypt with PGP: no valid PGP key for desk@rulemail.test");
    }

    [Fact]
    public void A_locked_secret_key_is_a_refusal_not_an_exception()
    {
        using var sender = SenderStore();
        var locked = KeyStore.Open(sender.Store.Directory, new KeyStoreOptions { Time = sender.Time });

        var result = new OutgoingSecurity(locked).Protect(
            OutgoingMail.Plain(PgpMail.Address(PgpMail.Paul), PgpMail.Address(PgpMail.Support), "Hi"), OutgoingRequest.Pgp(sign: true, encrypt: true));

        Assert.True(result.IsRefused);
        Assert.Null(result.Message);
        Assert.StartsWith("Cannot sign with PGP: the private key for paul@example.net could not be opened (", result.Refusal, StringComparison.Ordinal);
    }

    public void Dispose() => _files.Dispose();

    private MailboxStore SenderStore() => MailboxStore.With(
        gpg.Secret(PgpMail.Paul), gpg.Secret(PgpMail.Erik), gpg.Public(PgpMail.Support), gpg.Public(PgpMail.Desk));

    /// <summary>gpg --decrypt in a fresh GNUPGHOME holding only <paramref name="key"/>'s secret key (and the signer's public key).</summary>
    private (byte[] Plaintext, string Status) Decrypt(string key, byte[] payload, string? signer = null)
    {
        using var home = new GnuPG();
        home.Run(gpg.Secret(key).Content, "--pinentry-mode", "loopback", "--passphrase", Passphrase, "--import");
        if (signer is not null && signer != key)
        {
            home.Run(gpg.Public(signer).Content, "--import");
        }

        var decrypted = home.Run(payload, "--pinentry-mode", "loopback", "--passphrase", Passphrase, "--status-fd", "2", "--decrypt");
        return (decrypted.StandardOutput, decrypted.StandardError);
    }

    private static void AssertGoodSignature(string status, string signer)
    {
        Assert.Contains("[GNUPG:] GOODSIG ", status, StringComparison.Ordinal);
        var valid = status.Split('\n').Single(l => l.StartsWith("[GNUPG:] VALIDSIG ", StringComparison.Ordinal));
        Assert.Contains(PgpMail.Key(signer).Fingerprint, valid, StringComparison.Ordinal);
        var fields = valid.Split(' ');
        Assert.Equal("8", fields[9]); // SHA-256
        Assert.Equal("00", fields[10]); // a signature over a binary document: the canonical bytes exactly
    }

    private static byte[] EncryptedPayload(MimeMessage message)
    {
        var encrypted = Assert.IsAssignableFrom<Multipart>(message.Body);
        Assert.Equal("multipart/encrypted", encrypted.ContentType.MimeType);
        var payload = OutgoingMail.Decoded(Assert.IsAssignableFrom<MimePart>(encrypted[1]));
        Assert.StartsWith("-----BEGIN PGP MESSAGE-----", System.Text.Encoding.ASCII.GetString(payload), StringComparison.Ordinal);
        return payload;
    }

    private static long EncryptionKeyId(KeyStore store, string key)
    {
        var entry = store.FindPgp(PgpMail.Address(key), KeyUsages.Encrypt)!;
        return long.Parse(entry.KeyFor(KeyUsages.Encrypt, store.Time.GetUtcNow())!.KeyId, System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void AssertRefused(OutgoingResult result, string refusal)
    {
        Assert.True(result.IsRefused, "the request was carried out");
        Assert.Null(result.Message);
        Assert.Equal(refusal, result.Refusal);
    }

    private string Write(string name, byte[] content)
    {
        File.WriteAllBytes(_files.File(name), content);
        return _files.File(name);
    }
}
