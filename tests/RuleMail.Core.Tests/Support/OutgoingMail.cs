using System.Text;
using MimeKit;
using MimeKit.IO;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Support;

/// <summary>
/// Outgoing messages as a ticket system hands them over (built with MimeKit, no transfer encodings chosen),
/// and what happens to them on the way: written to a file with LF line ends as a mail client or an outbox
/// stores them, then read back from the bytes.
/// </summary>
internal static class OutgoingMail
{
    /// <summary>
    /// Text that breaks naive signatures: 8-bit UTF-8, a line starting with "From " (mbox escaping), trailing
    /// spaces and a trailing tab (stripped by some relays), a lone dot (SMTP), a line over 78 characters.
    /// </summary>
    public const string TrickyText =
        "Grüße aus Zürich – ünïcödé, 日本語\n" +
        "From the help desk: this line starts with From and a space\n" +
        "Trailing spaces follow   \n" +
        "A trailing tab follows\t\n" +
        ".\n" +
        "A long line: Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore\n" +
        "From \n" +
        "Last line";

    public const string Html = "<p>Grüße <b>aus</b> Zürich</p>\n<p>From the help desk</p>\n";

    /// <summary>Bytes a text canonicalizer would damage: CR, LF, CRLF, NUL, 8-bit, and "From " after a LF.</summary>
    public static byte[] Binary { get; } = MakeBinary();

    public const string TextAttachment = "notes line one\nFrom notes line two   \nline three\n";

    /// <summary>A plain text message (no transfer encoding set).</summary>
    public static MimeMessage Plain(string from, string to, string text, string subject = "Outgoing test")
    {
        var message = Headers(from, to, subject);
        message.Body = new TextPart("plain") { Text = text };
        return message;
    }

    /// <summary>
    /// multipart/mixed: multipart/alternative (plain + HTML, both 8-bit), a binary attachment with no transfer
    /// encoding set, and a text attachment declared 8bit with bare LFs.
    /// </summary>
    public static MimeMessage Tricky(string from, string to, string? cc = null, string subject = "Grüße – outgoing test")
    {
        var message = Headers(from, to, subject);
        if (cc is not null)
        {
            message.Cc.Add(MailboxAddress.Parse(cc));
        }

        var alternative = new MultipartAlternative
        {
            new TextPart("plain") { Text = TrickyText },
            new TextPart("html") { Text = Html },
        };
        var binary = new MimePart("application", "octet-stream")
        {
            Content = new MimeContent(new MemoryStream(Binary)),
            ContentDisposition = new ContentDisposition(ContentDisposition.Attachment) { FileName = "data.bin" },
        };
        var notes = new MimePart("text", "plain")
        {
            Content = new MimeContent(new MemoryStream(Encoding.UTF8.GetBytes(TextAttachment))),
            ContentTransferEncoding = ContentEncoding.EightBit,
            ContentDisposition = new ContentDisposition(ContentDisposition.Attachment) { FileName = "notes.txt" },
        };
        notes.ContentType.Charset = "utf-8";
        message.Body = new Multipart("mixed") { alternative, binary, notes };
        return message;
    }

    /// <summary>The message as a Unix mail client writes it: LF line ends.</summary>
    public static byte[] LfBytes(MimeMessage message)
    {
        using var buffer = new MemoryStream();
        message.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Unix }, buffer);
        var bytes = buffer.ToArray();
        Assert.DoesNotContain((byte)'\r', bytes);
        return bytes;
    }

    /// <summary>Written to <paramref name="path"/> with LF line ends and parsed again from that file.</summary>
    public static MimeMessage ThroughLfFile(MimeMessage message, string path)
    {
        File.WriteAllBytes(path, LfBytes(message));
        using var stream = File.OpenRead(path);
        return MimeMessage.Load(stream);
    }

    /// <summary>The first part of a multipart/signed as a verifier hashes it (CRLF) and the decoded signature.</summary>
    public static (byte[] Content, byte[] Signature) DetachedParts(MimeMessage message, string protocol)
    {
        var signed = Assert.IsAssignableFrom<Multipart>(message.Body);
        Assert.Equal("multipart/signed", signed.ContentType.MimeType);
        Assert.Equal(protocol, signed.ContentType.Parameters["protocol"]);
        Assert.Equal(2, signed.Count);
        return (SignedContent.Canonical(signed[0]), Decoded(Assert.IsAssignableFrom<MimePart>(signed[1])));
    }

    public static byte[] Decoded(MimePart part)
    {
        using var buffer = new MemoryStream();
        part.Content!.DecodeTo(buffer);
        return buffer.ToArray();
    }

    /// <summary>The text, HTML and attachments of <paramref name="received"/> are those of <see cref="Tricky"/>.</summary>
    public static void AssertTrickyContent(MimeEntity? received)
    {
        Assert.NotNull(received);
        var parts = AllParts(received).ToList();
        var plain = parts.OfType<TextPart>().First(p => p.IsPlain && !p.IsAttachment);
        var html = parts.OfType<TextPart>().First(p => p.IsHtml);
        var binary = parts.First(p => p.FileName == "data.bin");
        var notes = parts.First(p => p.FileName == "notes.txt");
        Assert.Equal(IncomingMail.Normalized(TrickyText), IncomingMail.Normalized(plain.Text));
        Assert.Equal(IncomingMail.Normalized(Html), IncomingMail.Normalized(html.Text));
        Assert.Equal(Binary, Decoded(binary));
        Assert.Equal(IncomingMail.Normalized(TextAttachment), IncomingMail.Normalized(Encoding.UTF8.GetString(Decoded(notes))));
    }

    /// <summary>Every leaf part's transfer encoding is one that relays leave alone.</summary>
    public static void AssertSevenBitSafe(MimeEntity entity)
    {
        foreach (var part in AllParts(entity))
        {
            Assert.True(
                part.ContentTransferEncoding is ContentEncoding.QuotedPrintable or ContentEncoding.Base64,
                $"{part.ContentType.MimeType} travels as {part.ContentTransferEncoding}");
        }
    }

    /// <summary>No line of <paramref name="bytes"/> starts with "From " or ends in a space or tab.</summary>
    public static void AssertNoFragileLines(byte[] bytes)
    {
        var lines = Encoding.UTF8.GetString(bytes).Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        Assert.DoesNotContain(lines, l => l.StartsWith("From ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.EndsWith(' ') || l.EndsWith('\t'));
    }

    public static IEnumerable<MimePart> AllParts(MimeEntity entity)
    {
        using var iterator = new MimeIterator(new MimeMessage { Body = entity });
        var parts = new List<MimePart>();
        while (iterator.MoveNext())
        {
            if (iterator.Current is MimePart part)
            {
                parts.Add(part);
            }
        }

        return parts;
    }

    /// <summary>The canonical (CRLF) bytes of an entity, as MimeKit writes it.</summary>
    public static byte[] Canonical(MimeEntity entity)
    {
        using var buffer = new MemoryBlockStream();
        entity.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, buffer);
        return buffer.ToArray();
    }

    private static MimeMessage Headers(string from, string to, string subject)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.Date = new DateTimeOffset(2025, 7, 1, 10, 0, 0, TimeSpan.Zero);
        message.MessageId = $"{Guid.NewGuid():N}@outgoing.test";
        message.Headers.Add("X-Ticket", "4711");
        return message;
    }

    private static byte[] MakeBinary()
    {
        var random = new Random(20250701);
        var bytes = new byte[3000];
        random.NextBytes(bytes);
        byte[] awkward = [.. "\r\n"u8, .. "\n"u8, .. "From x\n"u8, 0, .. "\r"u8, .. "line   \n"u8];
        awkward.CopyTo(bytes, 100);
        awkward.CopyTo(bytes, 2000);
        return bytes;
    }
}
