using MimeKit;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// OpenPGP RSA runs on OpenSSL (<see cref="PgpRsa"/>), not on BouncyCastle's RSA: messages made by the real gpg with
/// RSA-2048 and RSA-3072 keys open and verify, what RuleMail sends opens in gpg, and every way an RSA packet can be
/// wrong ends as it did before. <see cref="PgpRsa.OperationsOnThisThread"/> counts the RSA operations OpenSSL did, so a
/// silent fallback to BouncyCastle's RSA fails these tests.
/// </summary>
public sealed class PgpRsaOpenSslTests(PgpMail gpg, Rsa3072Mail rhea) : IClassFixture<PgpMail>, IClassFixture<Rsa3072Mail>, IDisposable
{
    private const string Pgp = SecurityResult.PgpType;
    private const string Body = "Hello over OpenSSL.\nSecond line.\n";

    private readonly TempDirectory _files = new("pgp-rsa");

    [Fact]
    public void An_rsa_2048_message_gpg_signed_and_encrypted_takes_one_private_and_one_public_openssl_operation()
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support), gpg.Public(PgpMail.Paul));
        var message = IncomingMail.WithHeaders(
            IncomingMail.PgpEncrypted(gpg.SignAndEncrypt(PgpMail.Paul, PgpMail.Support, IncomingMail.TextEntity(Body))),
            PgpMail.Address(PgpMail.Paul), MailboxStore.Account);

        var (report, operations) = Inspect(store, message);

        SecurityAssert.Decrypted(report.Security, Pgp);
        SecurityAssert.Signed(report.Security, Pgp);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
        Assert.Equal(2, operations);
    }

    [Fact]
    public void An_rsa_3072_message_gpg_signed_and_encrypted_takes_one_private_and_one_public_openssl_operation()
    {
        using var store = MailboxStore.With(rhea.Secret);
        var message = IncomingMail.WithHeaders(
            IncomingMail.PgpEncrypted(rhea.SignAndEncrypt(IncomingMail.TextEntity(Body))), Rsa3072Mail.Address, Rsa3072Mail.Address);

        var (report, operations) = Inspect(store, message, Rsa3072Mail.Address);

        SecurityAssert.Decrypted(report.Security, Pgp);
        SecurityAssert.Signed(report.Security, Pgp);
        Assert.Equal(new KeyFacts("rsa", 3072), report.Security.Sign!.Key);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
        Assert.Equal(2, operations);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_detached_rsa_signature_in_binary_or_text_mode_verifies_through_openssl(bool textMode)
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Paul));
        var part = IncomingMail.TextEntity(Body, "quoted-printable");
        var message = IncomingMail.WithHeaders(
            IncomingMail.PgpSigned(part, gpg.DetachSign(PgpMail.Paul, part, textMode)), PgpMail.Address(PgpMail.Paul), MailboxStore.Account);

        var (report, operations) = Inspect(store, message);

        SecurityAssert.Signed(report.Security, Pgp);
        Assert.Equal(1, operations);
    }

    [Theory]
    [InlineData(false, "line one\nline two\nlast")]
    [InlineData(true, "line one\nline two\nlast")]
    [InlineData(true, "line one\r\nline two\r\n")]
    [InlineData(true, "line one\nline two\r\nthree\r\r\nlast")]
    [InlineData(true, "line\rone\n")]
    [InlineData(false, "line\rone\r\r\n")]
    public void OpenSsl_and_bouncyCastle_agree_on_signatures_over_every_kind_of_line_end(bool textMode, string text)
    {
        var content = System.Text.Encoding.ASCII.GetBytes(text);
        var signature = ReadSignature(gpg.DetachSign(PgpMail.Paul, content, textMode));
        var key = Support.Pgp.PublicRing(gpg.Public(PgpMail.Paul).Content).GetPublicKey(signature.KeyId);
        signature.InitVerify(key);
        signature.Update(content);
        var bouncyCastle = signature.Verify();

        var before = PgpRsa.OperationsOnThisThread;
        var openSsl = PgpRsaSignature.Verify(signature, key, content);
        var operations = PgpRsa.OperationsOnThisThread - before;

        // gpg's text mode and BouncyCastle's canonical text differ on a lone CR; wherever they agree, OpenSSL's path must too.
        Assert.Equal(bouncyCastle, openSsl);
        var loneCr = text.Replace("\r\n", string.Empty, StringComparison.Ordinal).Contains('\r', StringComparison.Ordinal);
        if (!textMode || !loneCr)
        {
            Assert.True(openSsl);
        }

        if (openSsl == true)
        {
            Assert.Equal(1, operations);
            byte[] changed = [.. content[..^1], (byte)'T'];
            Assert.False(PgpRsaSignature.Verify(signature, key, changed));
        }
    }

    [Fact]
    public void A_changed_rsa_signature_value_is_tampered()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Paul));
        var part = IncomingMail.TextEntity(Body);
        var signature = Support.Pgp.Dearmor(gpg.DetachSign(PgpMail.Paul, part));
        signature[^1] ^= 0x01; // the last byte of the signature MPI
        var message = IncomingMail.WithHeaders(
            IncomingMail.PgpSigned(part, Support.Pgp.Armor(signature)), PgpMail.Address(PgpMail.Paul), MailboxStore.Account);

        var (report, operations) = Inspect(store, message);

        SecurityAssert.SignFailed(report.Security, Pgp, SecurityComments.Tampered);
        Assert.Equal(1, operations);
    }

    [Fact]
    public void A_signature_over_changed_content_is_tampered()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Paul));
        var part = IncomingMail.TextEntity("Pay 100 EUR\n");
        var signature = gpg.DetachSign(PgpMail.Paul, part);
        var changed = IncomingMail.TextEntity("Pay 900 EUR\n");
        var message = IncomingMail.WithHeaders(IncomingMail.PgpSigned(changed, signature), PgpMail.Address(PgpMail.Paul), MailboxStore.Account);

        var (report, _) = Inspect(store, message);

        SecurityAssert.SignFailed(report.Security, Pgp, SecurityComments.Tampered);
    }

    [Fact]
    public void A_signature_whose_left_16_digest_bits_do_not_match_is_tampered_before_any_rsa_operation()
    {
        using var store = MailboxStore.With(gpg.Public(PgpMail.Paul));
        var part = IncomingMail.TextEntity(Body);
        var original = ReadSignature(gpg.DetachSign(PgpMail.Paul, part));
        var prefix = original.GetDigestPrefix();
        prefix[0] ^= 0xFF;
        // The same signature value and hashed data; only the clear-text hint of the digest differs (BouncyCastle ignores it, gpg does not).
        var packet = new SignaturePacket(
            original.SignatureType, original.KeyId, original.KeyAlgorithm, original.HashAlgorithm,
            original.GetHashedSubPackets().ToArray(), original.GetUnhashedSubPackets().ToArray(), prefix,
            [new MPInteger(new Org.BouncyCastle.Math.BigInteger(1, original.GetSignature()))]);
        var message = IncomingMail.WithHeaders(
            IncomingMail.PgpSigned(part, Support.Pgp.Armor(Encode(packet))), PgpMail.Address(PgpMail.Paul), MailboxStore.Account);

        var (report, operations) = Inspect(store, message);

        SecurityAssert.SignFailed(report.Security, Pgp, SecurityComments.Tampered);
        Assert.Equal(0, operations);
    }

    [Fact]
    public void A_corrupted_rsa_session_key_packet_is_no_key_of_the_store()
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var binary = Support.Pgp.Dearmor(gpg.Encrypt(PgpMail.Support, IncomingMail.TextEntity(Body)));
        var (start, end) = FirstPacket(binary);
        binary[(start + end) / 2] ^= 0x40; // inside the RSA MPI: the padding no longer decodes
        var message = IncomingMail.WithHeaders(IncomingMail.PgpEncrypted(Support.Pgp.Armor(binary)), PgpMail.Address(PgpMail.Paul), MailboxStore.Account);

        var (report, operations) = Inspect(store, message);

        SecurityAssert.DecryptionFailed(report.Security, Pgp, SecurityComments.PrivateKeyNotFound);
        Assert.Equal(1, operations);
    }

    [Fact]
    public void A_session_key_with_a_good_padding_but_a_wrong_checksum_ends_like_a_bad_padding()
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var binary = Support.Pgp.Dearmor(gpg.Encrypt(PgpMail.Support, IncomingMail.TextEntity(Body)));
        var (_, end) = FirstPacket(binary);
        var key = PgpPackets.EncryptionKey(gpg.Public(PgpMail.Support).Content);
        var info = new byte[35];
        info[0] = (byte)SymmetricKeyAlgorithmTag.Aes256;
        System.Security.Cryptography.RandomNumberGenerator.Fill(info.AsSpan(1, 32));
        info[33] = 0xDE; // not the sum of the key's bytes (one chance in 65,536 that it is: then the MDC refuses it)
        info[34] = 0xAD;
        var wrapped = PgpRsa.Public(key)!.Encrypt(info, System.Security.Cryptography.RSAEncryptionPadding.Pkcs1);
        var packet = new PublicKeyEncSessionPacket(key.KeyId, key.Algorithm, [new MPInteger(new Org.BouncyCastle.Math.BigInteger(1, wrapped)).GetEncoded()]);
        byte[] forged = [.. Encode(packet), .. binary.AsSpan(end)];
        var message = IncomingMail.WithHeaders(IncomingMail.PgpEncrypted(Support.Pgp.Armor(forged)), PgpMail.Address(PgpMail.Paul), MailboxStore.Account);

        var (report, operations) = Inspect(store, message);

        SecurityAssert.DecryptionFailed(report.Security, Pgp, SecurityComments.PrivateKeyNotFound);
        Assert.Equal(1, operations);
    }

    [Fact]
    public void A_changed_mdc_after_an_openssl_decryption_fails_the_integrity_check()
    {
        using var store = MailboxStore.With(gpg.Secret(PgpMail.Support));
        var binary = Support.Pgp.Dearmor(gpg.Encrypt(PgpMail.Support, IncomingMail.TextEntity(Body), "--compress-algo", "none"));
        binary[^5] ^= 0x01;
        var message = IncomingMail.WithHeaders(IncomingMail.PgpEncrypted(Support.Pgp.Armor(binary)), PgpMail.Address(PgpMail.Paul), MailboxStore.Account);

        var (report, operations) = Inspect(store, message);

        SecurityAssert.DecryptionFailed(report.Security, Pgp, SecurityComments.IntegrityCheckFailed);
        Assert.Null(report.Security.Sign);
        Assert.Equal(1, operations);
    }

    [Fact]
    public void An_rsa_3072_message_ruleMail_signs_and_encrypts_opens_in_gpg_with_a_good_signature()
    {
        using var store = MailboxStore.With(rhea.Secret);
        var before = PgpRsa.OperationsOnThisThread;
        var result = new OutgoingSecurity(store.Store).Protect(
            OutgoingMail.Plain(Rsa3072Mail.Address, Rsa3072Mail.Address, "Hello from RuleMail over OpenSSL"), OutgoingRequest.Pgp(sign: true, encrypt: true));
        var operations = PgpRsa.OperationsOnThisThread - before;

        Assert.False(result.IsRefused, result.Refusal);
        Assert.Equal(2, operations); // one signature, one session key wrapped for Rhea (the sender's copy is the same key)
        var sent = OutgoingMail.ThroughLfFile(result.Message, _files.File("sent.eml"));
        var payload = OutgoingMail.Decoded(Assert.IsAssignableFrom<MimePart>(Assert.IsAssignableFrom<Multipart>(sent.Body)[1]));

        var decrypted = rhea.Gpg(payload, "--decrypt");

        Assert.Contains("[GNUPG:] GOODMDC", decrypted.StandardError, StringComparison.Ordinal);
        Assert.Contains("[GNUPG:] DECRYPTION_INFO 2 9", decrypted.StandardError, StringComparison.Ordinal);
        Assert.Contains("[GNUPG:] GOODSIG ", decrypted.StandardError, StringComparison.Ordinal);
        Assert.Contains(rhea.Fingerprint, decrypted.StandardError, StringComparison.Ordinal);
        Assert.Contains("Hello from RuleMail over OpenSSL", System.Text.Encoding.UTF8.GetString(decrypted.StandardOutput), StringComparison.Ordinal);
    }

    [Fact]
    public void An_rsa_3072_message_ruleMail_sends_is_read_back_by_ruleMail()
    {
        using var store = MailboxStore.With(rhea.Secret);
        var result = new OutgoingSecurity(store.Store).Protect(
            OutgoingMail.Plain(Rsa3072Mail.Address, Rsa3072Mail.Address, "Round trip"), OutgoingRequest.Pgp(sign: true, encrypt: true));
        Assert.False(result.IsRefused, result.Refusal);
        using var buffer = new MemoryStream();
        result.Message!.WriteTo(buffer);

        var (report, operations) = Inspect(store, buffer.ToArray(), Rsa3072Mail.Address);

        SecurityAssert.Decrypted(report.Security, Pgp);
        SecurityAssert.Signed(report.Security, Pgp);
        Assert.Equal(2, operations);
    }

    public void Dispose() => _files.Dispose();

    private static (IncomingReport Report, int Operations) Inspect(MailboxStore store, byte[] message, string account = MailboxStore.Account)
    {
        var before = PgpRsa.OperationsOnThisThread;
        var report = store.Inspect(message, account);
        return (report, PgpRsa.OperationsOnThisThread - before);
    }

    private static PgpSignature ReadSignature(byte[] armored) =>
        ((PgpSignatureList)new PgpObjectFactory(Support.Pgp.Dearmor(armored)).NextPgpObject())[0];

    private static byte[] Encode(ContainedPacket packet)
    {
        using var buffer = new MemoryStream();
        new BcpgOutputStream(buffer).WritePacket(packet);
        return buffer.ToArray();
    }

    /// <summary>Where the first packet's body starts and where the packet ends (old or new format header).</summary>
    private static (int BodyStart, int End) FirstPacket(byte[] binary)
    {
        var tag = binary[0];
        if ((tag & 0x40) != 0)
        {
            var first = binary[1];
            return first < 192 ? (2, 2 + first) : (3, 3 + ((first - 192) << 8) + binary[2] + 192);
        }

        return (tag & 3) switch
        {
            0 => (2, 2 + binary[1]),
            1 => (3, 3 + ((binary[1] << 8) | binary[2])),
            _ => throw new InvalidOperationException("gpg wrote a session-key packet of unexpected length form"),
        };
    }
}
