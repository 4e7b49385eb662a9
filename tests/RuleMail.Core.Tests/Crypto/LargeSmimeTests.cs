using System.Runtime.Versioning;
using MimeKit;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Json;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// Large S/MIME mail (above the streaming threshold, lowered here so the messages stay small) goes through spool files:
/// real openssl messages must give exactly the report the in-memory path gives, damaged ciphertext must be refused the
/// same way with no plaintext in the view, and the spool files must be 0600 and gone once the report is disposed.
/// </summary>
public sealed class LargeSmimeTests(SmimeMail mail) : IClassFixture<SmimeMail>
{
    private const long Threshold = 1024;

    private static readonly string Body = string.Concat(Enumerable.Range(0, 2000).Select(i => $"Line {i} of a large message.\n"));

    private MailboxStore Store() => MailboxStore.With([mail["root.crt"], mail["inter.crt"], .. mail.WithPrivateKey(SmimeMail.Support)]);

    private byte[] SignedEncrypted() => Message("smime-signed-aes256-cbc");

    /// <summary>
    /// One message made by openssl: <c>smime-signed-aes256-cbc</c> is multipart/signed in enveloped-data (what
    /// <c>openssl smime -sign | openssl smime -encrypt</c> writes), <c>cms-aes256-cbc</c> and <c>cms-aes256-gcm</c> plain text
    /// in enveloped-data and authEnveloped-data, <c>smime-signed-aes256-gcm</c> multipart/signed in authEnveloped-data,
    /// <c>opaque-smime</c> and <c>opaque-cms</c> opaque signed-data (<c>-nodetach</c>), and <c>opaque-aes256-gcm</c> and
    /// <c>opaque-aes256-cbc</c> opaque signed-data in authEnveloped-data and enveloped-data (Outlook's form).
    /// </summary>
    private byte[] Message(string kind, string from = "sam@example.com")
    {
        var text = IncomingMail.TextEntity(Body);
        var entity = kind switch
        {
            "smime-signed-aes256-cbc" => mail.SmimeEncrypt(mail.SmimeSign(text, SmimeMail.Sam), SmimeMail.Support),
            "cms-aes256-cbc" => mail.CmsEncrypt(text, SmimeMail.Support),
            "cms-aes256-gcm" => mail.CmsEncrypt(text, SmimeMail.Support, "-aes-256-gcm"),
            "smime-signed-aes256-gcm" => mail.CmsEncrypt(mail.SmimeSign(text, SmimeMail.Sam), SmimeMail.Support, "-aes-256-gcm"),
            "opaque-smime" => mail.SmimeSign(text, SmimeMail.Sam, "-nodetach"),
            "opaque-cms" => mail.CmsSign(text, SmimeMail.Sam, "-nodetach"),
            "opaque-aes256-gcm" => mail.CmsEncrypt(mail.CmsSign(text, SmimeMail.Sam, "-nodetach"), SmimeMail.Support, "-aes-256-gcm"),
            "opaque-aes256-cbc" => mail.SmimeEncrypt(mail.SmimeSign(text, SmimeMail.Sam, "-nodetach"), SmimeMail.Support),
            _ => throw new ArgumentException($"unknown kind {kind}", nameof(kind)),
        };
        return IncomingMail.WithHeaders(entity, from, MailboxStore.Account, "Large and protected");
    }

    private static IncomingReport Inspect(MailboxStore store, byte[] raw, long streamAbove) =>
        new IncomingSecurity(store.Store, null, streamAbove).Inspect(new MemoryStream(raw, writable: false), MailboxStore.Account);

    /// <summary>The spools a report still reads from: what the streamed path kept, not what a fallback to memory released.</summary>
    private static int Live(IncomingReport report) => report.Spools.Count(s => !s.Stream.SafeFileHandle.IsClosed);

    [Theory]
    [InlineData("smime-signed-aes256-cbc", true, true, 1)]
    [InlineData("cms-aes256-cbc", true, false, 1)]
    [InlineData("cms-aes256-gcm", true, false, 1)]
    [InlineData("smime-signed-aes256-gcm", true, true, 1)]
    [InlineData("opaque-smime", false, true, 1)]
    [InlineData("opaque-cms", false, true, 1)]
    [InlineData("opaque-aes256-gcm", true, true, 2)]
    [InlineData("opaque-aes256-cbc", true, true, 2)]
    public void A_large_message_gives_the_same_report_as_the_in_memory_path(string kind, bool encrypted, bool verified, int streamedSpools)
    {
        using var store = Store();
        var raw = Message(kind);
        using var small = Inspect(store, raw, IncomingSecurity.DefaultStreamAbove);
        using var large = Inspect(store, raw, Threshold);

        Assert.Empty(small.Spools);
        // The view reads the plaintext or the signed content from spool files the streamed path wrote (plaintext, then the
        // content unwrapped from it), none released for a fallback to the in-memory path.
        Assert.Equal(streamedSpools, Live(large));
        Assert.Equal(SecurityResult.SmimeType, large.Security.Type);
        Assert.Equal(encrypted, large.Security.Encryption?.Success == true);
        Assert.Equal(verified, large.Security.Sign?.Success == true);
        if (!encrypted)
        {
            Assert.Null(large.Security.Encryption);
        }
        Assert.Equal(ContractJson.Serialize(small.Security), ContractJson.Serialize(large.Security));
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(large.Message)));
        Assert.Equal(IncomingMail.TextOf(small.Message), IncomingMail.TextOf(large.Message));
        Assert.Equal(small.Message.Body?.ContentType.MimeType, large.Message.Body?.ContentType.MimeType);
        Assert.Equal("Large and protected", large.Message.Subject);
    }

    [Theory]
    [InlineData(5)] // the tag
    [InlineData(2000)] // the ciphertext
    public void Large_aes_gcm_ciphertext_or_tag_changed_fails_the_integrity_check_as_in_memory_with_no_plaintext_anywhere(int fromEnd)
    {
        using var store = Store();
        var raw = Tampered(Message("cms-aes256-gcm"), fromEnd);
        using var small = Inspect(store, raw, IncomingSecurity.DefaultStreamAbove);
        using var large = Inspect(store, raw, Threshold);

        Assert.False(large.Security.Encryption!.Success);
        Assert.Equal(SecurityComments.IntegrityCheckFailed, large.Security.Encryption.Comment);
        Assert.Equal(Integrity.Aead, large.Security.Encryption.Integrity);
        Assert.Equal(ContractJson.Serialize(small.Security), ContractJson.Serialize(large.Security));
        IncomingMail.AssertNowhere(large.Message, "of a large message");
        Assert.Equal(0, Live(large)); // The ciphertext's and the plaintext's spools are both released.
    }

    [Theory]
    [InlineData("opaque-smime")]
    [InlineData("opaque-aes256-gcm")]
    public void Large_opaque_signed_content_changed_fails_as_in_memory(string kind)
    {
        using var store = Store();
        // 20,000 bytes before the end of the signed-data is inside the content (the certificate and signer info are smaller).
        var raw = kind == "opaque-aes256-gcm"
            ? IncomingMail.WithHeaders(mail.CmsEncrypt(TamperedEntity(mail.CmsSign(IncomingMail.TextEntity(Body), SmimeMail.Sam, "-nodetach"), 20000), SmimeMail.Support, "-aes-256-gcm"),
                "sam@example.com", MailboxStore.Account, "Large and protected")
            : Tampered(Message(kind), 20000);
        using var small = Inspect(store, raw, IncomingSecurity.DefaultStreamAbove);
        using var large = Inspect(store, raw, Threshold);

        Assert.False(large.Security.Sign!.Success);
        Assert.Equal(SecurityComments.Tampered, large.Security.Sign.Comment);
        Assert.Equal(ContractJson.Serialize(small.Security), ContractJson.Serialize(large.Security));
        Assert.Equal(IncomingMail.TextOf(small.Message), IncomingMail.TextOf(large.Message));
    }

    [Theory]
    [InlineData("opaque-cms")]
    [InlineData("opaque-aes256-gcm")]
    public void Large_opaque_signed_data_by_someone_not_the_sender_fails_as_in_memory(string kind)
    {
        using var store = Store();
        var raw = Message(kind, from: "paul@example.net");
        using var small = Inspect(store, raw, IncomingSecurity.DefaultStreamAbove);
        using var large = Inspect(store, raw, Threshold);

        Assert.False(large.Security.Sign!.Success);
        Assert.Equal(SecurityComments.NotSignedBySender("sam@example.com", "paul@example.net"), large.Security.Sign.Comment);
        Assert.Equal(ContractJson.Serialize(small.Security), ContractJson.Serialize(large.Security));
        Assert.Equal(IncomingMail.TextOf(small.Message), IncomingMail.TextOf(large.Message));
    }

    [Theory]
    [InlineData(20)]
    [InlineData(2000)]
    public void Large_ciphertext_changed_near_its_end_is_refused_as_in_memory_with_no_plaintext_in_the_view(int fromEnd)
    {
        using var store = Store();
        var raw = Tampered(SignedEncrypted(), fromEnd);
        using var small = Inspect(store, raw, IncomingSecurity.DefaultStreamAbove);
        using var large = Inspect(store, raw, Threshold);

        Assert.False(large.Security.Encryption?.Success == true && large.Security.Sign?.Success == true);
        Assert.Equal(ContractJson.Serialize(small.Security), ContractJson.Serialize(large.Security));
        if (large.Security.Encryption?.Success != true)
        {
            IncomingMail.AssertNowhere(large.Message, "of a large message");
        }
    }

    [Theory]
    [InlineData("smime-signed-aes256-cbc")]
    [InlineData("opaque-aes256-gcm")]
    [UnsupportedOSPlatform("windows")]
    public void The_spool_files_are_readable_by_their_owner_only_and_have_no_name_a_crash_could_leave_behind(string kind)
    {
        using var store = Store();
        var report = Inspect(store, Message(kind), Threshold);
        Assert.NotEmpty(report.Spools);
        Assert.All(report.Spools, spool => Assert.False(File.Exists(spool.Stream.Name), $"{spool.Stream.Name} has a name: a kill -9 would leave it"));
        var live = report.Spools.Where(s => !s.Stream.SafeFileHandle.IsClosed).ToList();
        Assert.NotEmpty(live); // The plaintext the view reads from.
        Assert.All(live, spool => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(spool.Stream.SafeFileHandle)));

        // The view reads the plaintext from the nameless file.
        Assert.Contains("Line 1999", IncomingMail.TextOf(report.Message), StringComparison.Ordinal);
        var handles = report.Spools.Select(s => s.Stream.SafeFileHandle).ToList();
        report.Dispose();

        Assert.All(handles, handle => Assert.True(handle.IsClosed));
    }

    /// <summary>An openssl output entity (headers, then base64 CMS) with one byte of its decoded CMS flipped.</summary>
    private static byte[] TamperedEntity(byte[] entity, int fromEnd)
    {
        var tampered = Tampered(IncomingMail.WithHeaders(entity, "sam@example.com", MailboxStore.Account), fromEnd);
        var body = MimeMessage.Load(new MemoryStream(tampered)).Body!;
        using var output = new MemoryStream();
        body.WriteTo(output);
        return output.ToArray();
    }

    /// <summary>The message with one byte of its decoded CMS flipped, <paramref name="fromEnd"/> bytes before its end.</summary>
    private static byte[] Tampered(byte[] raw, int fromEnd)
    {
        var message = MimeMessage.Load(new MemoryStream(raw));
        var part = Assert.IsType<MimePart>(message.Body, exactMatch: false);
        using var decoded = new MemoryStream();
        part.Content!.DecodeTo(decoded);
        var cms = decoded.ToArray();
        cms[^fromEnd] ^= 0x01;
        part.Content = new MimeContent(new MemoryStream(cms), ContentEncoding.Default);
        part.ContentTransferEncoding = ContentEncoding.Base64;
        using var output = new MemoryStream();
        message.WriteTo(output);
        return output.ToArray();
    }
}
