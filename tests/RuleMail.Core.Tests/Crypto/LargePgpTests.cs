using System.Runtime.Versioning;
using System.Text;
using MimeKit;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Json;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// Large PGP/MIME mail (above the streaming threshold, lowered here so the messages stay small) is decrypted with its
/// literal data going to a spool file: real gpg messages must give exactly the report the in-memory path gives (security
/// result and the whole decrypted view), damaged ciphertext must be refused the same way with no plaintext anywhere in the
/// report, every bound must hold, and the spool files must be 0600, nameless, and gone once the report is disposed.
/// </summary>
public sealed class LargePgpTests(PgpMail gpg) : IClassFixture<PgpMail>
{
    private const long Threshold = 1024;
    private const string Pgp = SecurityResult.PgpType;
    private const string Marker = "of a large message";

    private static readonly string Body = string.Concat(Enumerable.Range(0, 2000).Select(i => $"Line {i} {Marker}.\n"));

    /// <summary>Text and a base64 attachment, CRLF: the decrypted view's text and attachment are compared as a whole.</summary>
    private static byte[] Entity()
    {
        var text = new TextPart("plain");
        text.SetText("utf-8", Body);
        var attachment = new MimePart("application", "octet-stream")
        {
            Content = new MimeContent(new MemoryStream(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 500).Select(i => $"record {i};"))))),
            ContentTransferEncoding = ContentEncoding.Base64,
            FileName = "records.bin",
        };
        var mixed = new Multipart("mixed") { text, attachment };
        using var buffer = new MemoryStream();
        mixed.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, buffer);
        return buffer.ToArray();
    }

    private MailboxStore Store() => MailboxStore.With(gpg.Secret(PgpMail.Support), gpg.Secret(PgpMail.Desk), gpg.Public(PgpMail.Paul), gpg.Public(PgpMail.Erik));

    private static byte[] Message(byte[] armored, string from, string subject = "Large and protected") =>
        IncomingMail.WithHeaders(IncomingMail.PgpEncrypted(armored), from, MailboxStore.Account, subject);

    private static IncomingReport Inspect(MailboxStore store, byte[] raw, long streamAbove) =>
        new IncomingSecurity(store.Store, null, streamAbove).Inspect(new MemoryStream(raw, writable: false), MailboxStore.Account);

    /// <summary>
    /// Inspects <paramref name="raw"/> on both paths and requires the same report; returns the streamed one (the small one
    /// disposed). <paramref name="spooled"/>: the streamed path must have made spool files (false where an exception on both
    /// paths may end the inspection, which releases them).
    /// </summary>
    private static IncomingReport Same(MailboxStore store, byte[] raw, bool spooled = true)
    {
        using var small = Inspect(store, raw, IncomingSecurity.DefaultStreamAbove);
        var large = Inspect(store, raw, Threshold);
        Assert.Empty(small.Spools);
        Assert.True(!spooled || large.Spools.Count > 0, "the large message did not go through spool files");
        Assert.Equal(ContractJson.Serialize(small.Security), ContractJson.Serialize(large.Security));
        Assert.Equal(Encoding.UTF8.GetString(IncomingMail.Serialize(small.Message)), Encoding.UTF8.GetString(IncomingMail.Serialize(large.Message)));
        return large;
    }

    [Theory]
    [InlineData(PgpMail.Paul, PgpMail.Support)] // RSA: the session key through OpenSSL, the content through PgpMdcStream.
    [InlineData(PgpMail.Erik, PgpMail.Desk)] // Ed25519 / Cv25519: BouncyCastle's own decrypting stream.
    public void A_large_signed_and_encrypted_message_gives_the_same_report_as_the_in_memory_path(string signer, string recipient)
    {
        using var store = Store();
        using var large = Same(store, Message(gpg.SignAndEncrypt(signer, recipient, Entity()), PgpMail.Address(signer)));

        SecurityAssert.Decrypted(large.Security, Pgp);
        SecurityAssert.Signed(large.Security, Pgp);
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(large.Message)));
        Assert.Equal("records.bin", Assert.Single(large.Message.Attachments).ContentDisposition?.FileName);
        Assert.Equal("Large and protected", large.Message.Subject);
    }

    [Fact]
    public void A_large_encrypted_only_message_gives_the_same_report_as_the_in_memory_path()
    {
        using var store = Store();
        using var large = Same(store, Message(gpg.Encrypt(PgpMail.Support, Entity()), PgpMail.Address(PgpMail.Paul)));

        SecurityAssert.Decrypted(large.Security, Pgp);
        Assert.Null(large.Security.Sign);
        Assert.Contains($"Line 1999 {Marker}", IncomingMail.TextOf(large.Message), StringComparison.Ordinal);
    }

    [Fact]
    public void A_large_uncompressed_message_gives_the_same_report_as_the_in_memory_path()
    {
        using var store = Store();
        using var large = Same(store, Message(gpg.Gpg(Entity(), "--armor", "--compress-algo", "none", "--recipient", PgpMail.Address(PgpMail.Support), "--encrypt"), PgpMail.Address(PgpMail.Paul)));

        SecurityAssert.Decrypted(large.Security, Pgp);
    }

    [Fact]
    public void A_large_pgp_mime_signed_entity_inside_the_encrypted_one_is_verified_from_the_spool_as_in_memory()
    {
        using var store = Store();
        var entity = Entity();
        var signed = IncomingMail.PgpSigned(entity, gpg.DetachSign(PgpMail.Paul, entity));
        using var large = Same(store, Message(gpg.Encrypt(PgpMail.Support, signed), PgpMail.Address(PgpMail.Paul)));

        SecurityAssert.Decrypted(large.Security, Pgp);
        SecurityAssert.Signed(large.Security, Pgp);
        Assert.Equal("multipart/signed", large.Message.Body?.ContentType.MimeType);
    }

    [Fact]
    public void A_large_message_whose_armor_is_base64_encoded_again_is_decoded_once_into_a_spool_and_read_as_in_memory()
    {
        using var store = Store();
        var message = IncomingMail.Load(Message(gpg.SignAndEncrypt(PgpMail.Paul, PgpMail.Support, Entity()), PgpMail.Address(PgpMail.Paul)));
        var payload = Assert.IsType<MimePart>(Assert.IsType<Multipart>(message.Body, exactMatch: false)[1]);
        payload.ContentTransferEncoding = ContentEncoding.Base64;
        using var large = Same(store, IncomingMail.Serialize(message));

        SecurityAssert.Decrypted(large.Security, Pgp);
        SecurityAssert.Signed(large.Security, Pgp);
        Assert.Equal(2, large.Spools.Count); // The decoded armor (released once decrypted) and the plaintext.
    }

    [Theory]
    [InlineData(PgpMail.Stranger)] // Not in the store.
    [InlineData(PgpMail.Erik)] // In the store, but the message is from Paul.
    public void A_large_message_signed_by_another_key_than_the_senders_is_judged_as_in_memory(string signer)
    {
        using var store = Store();
        var senderOfRecord = PgpMail.Address(PgpMail.Paul);
        using var large = Same(store, Message(gpg.SignAndEncrypt(signer, PgpMail.Support, Entity()), senderOfRecord));

        SecurityAssert.Decrypted(large.Security, Pgp);
        Assert.False(large.Security.Sign!.Success);
        if (signer == PgpMail.Stranger)
        {
            Assert.Equal(SecurityComments.CertificateNotFound, large.Security.Sign.Comment);
        }
    }

    [Theory]
    [InlineData(5)] // Inside the MDC packet: only the integrity check can tell.
    [InlineData(30)] // The end of the compressed data: the inflater may throw first (on both paths), whose result is a failure too.
    [InlineData(3000)]
    public void Large_ciphertext_changed_near_its_end_is_refused_as_in_memory_with_no_plaintext_anywhere(int fromEnd)
    {
        using var store = Store();
        var binary = Support.Pgp.Dearmor(gpg.SignAndEncrypt(PgpMail.Paul, PgpMail.Support, Entity()));
        binary[^fromEnd] ^= 0x01;
        using var large = Same(store, Message(Support.Pgp.Armor(binary), PgpMail.Address(PgpMail.Paul)), spooled: fromEnd != 30);

        Assert.False(large.Security.Encryption!.Success);
        AssertNoPlaintext(large);
    }

    [Fact]
    public void A_large_uncompressed_message_changed_inside_its_mdc_is_refused_with_no_plaintext_anywhere()
    {
        // Without compression the literal data decodes cleanly whatever is flipped in the MDC: only the check refuses it.
        using var store = Store();
        var binary = Support.Pgp.Dearmor(gpg.Gpg(Entity(), "--compress-algo", "none", "--recipient", PgpMail.Address(PgpMail.Support), "--encrypt"));
        binary[^3] ^= 0x01;
        using var large = Same(store, Message(Support.Pgp.Armor(binary), PgpMail.Address(PgpMail.Paul)));

        SecurityAssert.DecryptionFailed(large.Security, Pgp, SecurityComments.IntegrityCheckFailed);
        AssertNoPlaintext(large);
    }

    [Fact]
    public void A_truncated_large_message_is_refused_as_in_memory_with_no_plaintext_anywhere()
    {
        using var store = Store();
        var binary = Support.Pgp.Dearmor(gpg.Gpg(Entity(), "--compress-algo", "none", "--recipient", PgpMail.Address(PgpMail.Support), "--encrypt"));
        using var large = Same(store, Message(Support.Pgp.Armor(binary[..(binary.Length * 2 / 3)]), PgpMail.Address(PgpMail.Paul)));

        Assert.False(large.Security.Encryption!.Success);
        AssertNoPlaintext(large);
    }

    [Fact]
    public void A_compression_bomb_above_the_threshold_is_stopped_by_the_same_bound()
    {
        using var store = Store();
        var armored = gpg.Encrypt(PgpMail.Support, new byte[64 * 1024 * 1024], "--compress-algo", "zlib", "--compress-level", "9");
        Assert.True(armored.Length > Threshold);
        using var large = Same(store, Message(armored, PgpMail.Address(PgpMail.Paul)));

        SecurityAssert.DecryptionFailed(large.Security, Pgp, SecurityComments.CompressionRatioTooHigh(SecurityPolicy.Default.MaxCompressionRatio));
        Assert.All(large.Spools, spool => Assert.True(spool.Stream.SafeFileHandle.IsClosed));
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void The_spool_files_are_readable_by_their_owner_only_and_have_no_name_a_crash_could_leave_behind()
    {
        using var store = Store();
        var report = Inspect(store, Message(gpg.SignAndEncrypt(PgpMail.Paul, PgpMail.Support, Entity()), PgpMail.Address(PgpMail.Paul)), Threshold);
        SecurityAssert.Decrypted(report.Security, Pgp);
        Assert.NotEmpty(report.Spools);
        Assert.All(report.Spools, spool => Assert.False(File.Exists(spool.Stream.Name), $"{spool.Stream.Name} has a name: a kill -9 would leave it"));
        var live = report.Spools.Where(s => !s.Stream.SafeFileHandle.IsClosed).ToList();
        Assert.NotEmpty(live); // The plaintext the view reads from.
        Assert.All(live, spool => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(spool.Stream.SafeFileHandle)));

        // The view reads the plaintext from the nameless file.
        Assert.Contains($"Line 1999 {Marker}", IncomingMail.TextOf(report.Message), StringComparison.Ordinal);
        var handles = report.Spools.Select(s => s.Stream.SafeFileHandle).ToList();
        report.Dispose();

        Assert.All(handles, handle => Assert.True(handle.IsClosed));
    }

    /// <summary>No plaintext in the view, and every spool file closed or empty.</summary>
    private static void AssertNoPlaintext(IncomingReport report)
    {
        Assert.Null(report.Security.Sign);
        IncomingMail.AssertNowhere(report.Message, Marker);
        Assert.All(report.Spools, spool => Assert.True(spool.Stream.SafeFileHandle.IsClosed || spool.Stream.Length == 0));
    }
}
