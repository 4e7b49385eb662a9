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

    private byte[] SignedEncrypted() =>
        IncomingMail.WithHeaders(mail.SmimeEncrypt(mail.SmimeSign(IncomingMail.TextEntity(Body), SmimeMail.Sam), SmimeMail.Support),
            "sam@example.com", MailboxStore.Account, "Large and protected");

    private byte[] EncryptedOnly() =>
        IncomingMail.WithHeaders(mail.CmsEncrypt(IncomingMail.TextEntity(Body), SmimeMail.Support),
            "sam@example.com", MailboxStore.Account, "Large and encrypted");

    private static IncomingReport Inspect(MailboxStore store, byte[] raw, long streamAbove) =>
        new IncomingSecurity(store.Store, null, streamAbove).Inspect(new MemoryStream(raw, writable: false), MailboxStore.Account);

    [Fact]
    public void A_large_signed_and_encrypted_message_gives_the_same_report_as_the_in_memory_path()
    {
        using var store = Store();
        var raw = SignedEncrypted();
        using var small = Inspect(store, raw, IncomingSecurity.DefaultStreamAbove);
        using var large = Inspect(store, raw, Threshold);

        Assert.Empty(small.Spools);
        Assert.NotEmpty(large.Spools);
        SecurityAssert.Decrypted(large.Security, SecurityResult.SmimeType);
        SecurityAssert.Signed(large.Security, SecurityResult.SmimeType);
        Assert.Equal(ContractJson.Serialize(small.Security), ContractJson.Serialize(large.Security));
        Assert.Equal(IncomingMail.Normalized(Body), IncomingMail.Normalized(IncomingMail.TextOf(large.Message)));
        Assert.Equal(IncomingMail.TextOf(small.Message), IncomingMail.TextOf(large.Message));
        Assert.Equal("Large and protected", large.Message.Subject);
    }

    [Fact]
    public void A_large_enveloped_only_message_gives_the_same_report_as_the_in_memory_path()
    {
        using var store = Store();
        var raw = EncryptedOnly();
        using var small = Inspect(store, raw, IncomingSecurity.DefaultStreamAbove);
        using var large = Inspect(store, raw, Threshold);

        Assert.NotEmpty(large.Spools);
        SecurityAssert.Decrypted(large.Security, SecurityResult.SmimeType);
        Assert.Null(large.Security.Sign);
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

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void The_spool_files_are_readable_by_their_owner_only_and_have_no_name_a_crash_could_leave_behind()
    {
        using var store = Store();
        var report = Inspect(store, SignedEncrypted(), Threshold);
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
