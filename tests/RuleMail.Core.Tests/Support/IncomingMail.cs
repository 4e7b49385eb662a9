using System.Text;
using MimeKit;

namespace RuleMail.Core.Tests.Support;

/// <summary>
/// Builds incoming messages around what openssl, gpg and gpgsm wrote, and reads them back with
/// <see cref="MimeMessage.Load(Stream, CancellationToken)"/> so every test exercises the parsing of real bytes.
/// </summary>
internal static class IncomingMail
{
    public const string Crlf = "\r\n";

    /// <summary>A text/plain MIME entity (headers + body) with CRLF line ends, the form that gets signed or encrypted.</summary>
    /// <param name="transferEncoding">8bit (the body's UTF-8 bytes as they are), 7bit, quoted-printable or base64 (encoded by MimeKit).</param>
    public static byte[] TextEntity(string body, string transferEncoding = "8bit", params string[] extraHeaders)
    {
        var canonical = Canonical(body);
        var headers = new StringBuilder();
        foreach (var header in extraHeaders)
        {
            headers.Append(header).Append(Crlf);
        }

        if (transferEncoding is "8bit" or "7bit")
        {
            return Encoding.UTF8.GetBytes(
                "Content-Type: text/plain; charset=utf-8" + Crlf + "Content-Transfer-Encoding: " + transferEncoding + Crlf + headers + Crlf + canonical);
        }

        var part = new TextPart("plain")
        {
            ContentTransferEncoding = transferEncoding switch
            {
                "quoted-printable" => ContentEncoding.QuotedPrintable,
                "base64" => ContentEncoding.Base64,
                _ => throw new ArgumentException($"unknown transfer encoding {transferEncoding}", nameof(transferEncoding)),
            },
        };
        part.SetText("utf-8", canonical);
        using var buffer = new MemoryStream();
        buffer.Write(Encoding.ASCII.GetBytes(headers.ToString()));
        part.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, buffer);
        return buffer.ToArray();
    }

    /// <summary>Puts the message headers (From, To, Subject, Date, Message-ID and <paramref name="extraHeaders"/>) before a MIME entity, in its line-end style.</summary>
    public static byte[] WithHeaders(byte[] entity, string from, string to, string subject = "Interop test", params string[] extraHeaders)
    {
        var text = Encoding.ASCII.GetString(entity, 0, Math.Min(entity.Length, 2000));
        var newLine = text.Contains(Crlf, StringComparison.Ordinal) ? Crlf : "\n";
        var headers = new StringBuilder();
        headers.Append("From: ").Append(from).Append(newLine);
        headers.Append("To: ").Append(to).Append(newLine);
        headers.Append("Subject: ").Append(subject).Append(newLine);
        headers.Append("Date: Tue, 01 Jul 2025 10:00:00 +0000").Append(newLine);
        headers.Append("Message-ID: <").Append(Guid.NewGuid().ToString("N")).Append("@interop.test>").Append(newLine);
        foreach (var header in extraHeaders)
        {
            headers.Append(header).Append(newLine);
        }

        var hasMimeVersion = text.StartsWith("MIME-Version:", StringComparison.OrdinalIgnoreCase) ||
            text.Contains(newLine + "MIME-Version:", StringComparison.OrdinalIgnoreCase);
        if (!hasMimeVersion)
        {
            headers.Append("MIME-Version: 1.0").Append(newLine);
        }

        return [.. Encoding.ASCII.GetBytes(headers.ToString()), .. entity];
    }

    /// <summary>Parses real bytes, as the transport would hand them over.</summary>
    public static MimeMessage Load(byte[] bytes) => MimeMessage.Load(new MemoryStream(bytes));

    public static MimeMessage Load(string text) => Load(Encoding.UTF8.GetBytes(text));

    /// <summary>The Content-Type of the message's body; fails when it has none.</summary>
    public static ContentType BodyType(MimeMessage message)
    {
        Assert.NotNull(message.Body);
        return message.Body.ContentType;
    }

    /// <summary>The message as bytes (MimeKit's own serialization).</summary>
    public static byte[] Serialize(MimeMessage message)
    {
        using var buffer = new MemoryStream();
        message.WriteTo(buffer);
        return buffer.ToArray();
    }

    /// <summary>RFC 3156 multipart/signed around <paramref name="signedPart"/> (its exact bytes) and an armored gpg signature.</summary>
    public static byte[] PgpSigned(byte[] signedPart, byte[] armoredSignature, string micalg = "pgp-sha256")
    {
        const string Boundary = "=-=pgp-signed-boundary-7d1c=-=";
        return [
            .. Encoding.ASCII.GetBytes(
                $"Content-Type: multipart/signed; micalg={micalg}; protocol=\"application/pgp-signature\"; boundary=\"{Boundary}\"" + Crlf + Crlf +
                "This is an OpenPGP/MIME signed message (RFC 4880 and 3156)" + Crlf +
                "--" + Boundary + Crlf),
            .. signedPart,
            .. Encoding.ASCII.GetBytes(
                Crlf + "--" + Boundary + Crlf +
                "Content-Type: application/pgp-signature; name=\"signature.asc\"" + Crlf +
                "Content-Description: OpenPGP digital signature" + Crlf +
                "Content-Disposition: attachment; filename=\"signature.asc\"" + Crlf + Crlf),
            .. Canonical(armoredSignature),
            .. Encoding.ASCII.GetBytes(Crlf + "--" + Boundary + "--" + Crlf),
        ];
    }

    /// <summary>RFC 3156 multipart/encrypted around an armored gpg message, built with MimeKit's own types.</summary>
    public static byte[] PgpEncrypted(byte[] armoredMessage)
    {
        var control = new MimePart("application", "pgp-encrypted")
        {
            Content = new MimeContent(new MemoryStream(Encoding.ASCII.GetBytes("Version: 1" + Crlf))),
            ContentTransferEncoding = ContentEncoding.SevenBit,
        };
        control.ContentDescription = "PGP/MIME version identification";
        var data = new MimePart("application", "octet-stream")
        {
            Content = new MimeContent(new MemoryStream(Canonical(armoredMessage))),
            ContentTransferEncoding = ContentEncoding.SevenBit,
            ContentDisposition = new ContentDisposition(ContentDisposition.Inline) { FileName = "encrypted.asc" },
        };
        var multipart = new Multipart("encrypted") { control, data };
        multipart.ContentType.Parameters["protocol"] = "application/pgp-encrypted";
        using var buffer = new MemoryStream();
        multipart.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, buffer);
        return buffer.ToArray();
    }

    /// <summary>multipart/mixed with <paramref name="inner"/> (raw MIME entity bytes) between two plain text parts.</summary>
    public static byte[] MixedAround(byte[] inner, string before, string after)
    {
        const string Boundary = "=-=mixed-outer-boundary-93a0=-=";
        return [
            .. Encoding.UTF8.GetBytes(
                $"Content-Type: multipart/mixed; boundary=\"{Boundary}\"" + Crlf + Crlf +
                "--" + Boundary + Crlf +
                "Content-Type: text/plain; charset=utf-8" + Crlf + Crlf +
                before + Crlf +
                "--" + Boundary + Crlf),
            .. Canonical(inner),
            .. Encoding.UTF8.GetBytes(
                Crlf + "--" + Boundary + Crlf +
                "Content-Type: text/plain; charset=utf-8" + Crlf + Crlf +
                after + Crlf +
                "--" + Boundary + "--" + Crlf),
        ];
    }

    /// <summary>A text/plain entity whose whole body is <paramref name="body"/> (inline PGP).</summary>
    public static byte[] InlineText(byte[] body) =>
        [.. Encoding.ASCII.GetBytes("Content-Type: text/plain; charset=utf-8" + Crlf + "Content-Transfer-Encoding: 8bit" + Crlf + Crlf), .. Canonical(body)];

    /// <summary>The first inline text/plain part of the message, decoded; fails when there is none.</summary>
    public static string TextOf(MimeMessage message)
    {
        var part = message.BodyParts.OfType<TextPart>().FirstOrDefault(p => p.IsPlain && !p.IsAttachment);
        Assert.True(part is not null, $"the message has no text/plain part; its body is {message.Body?.ContentType.MimeType ?? "missing"}");
        return part.Text;
    }

    /// <summary>Text with LF line ends and without trailing line ends, for comparing bodies across canonicalization.</summary>
    public static string Normalized(string text) => text.Replace(Crlf, "\n", StringComparison.Ordinal).TrimEnd('\n');

    /// <summary>
    /// Fails when <paramref name="marker"/> occurs anywhere in the message: its serialized bytes, or the decoded
    /// content of any part (so a base64 or quoted-printable copy is found too).
    /// </summary>
    public static void AssertNowhere(MimeMessage message, string marker)
    {
        var needle = Encoding.UTF8.GetBytes(marker);
        Assert.False(Serialize(message).AsSpan().IndexOf(needle) >= 0, $"\"{marker}\" occurs in the serialized message");
        foreach (var part in message.BodyParts.OfType<MimePart>())
        {
            if (part.Content is null)
            {
                continue;
            }

            using var decoded = new MemoryStream();
            part.Content.DecodeTo(decoded);
            Assert.False(decoded.ToArray().AsSpan().IndexOf(needle) >= 0, $"\"{marker}\" occurs in the decoded {part.ContentType.MimeType} part");
        }
    }

    /// <summary>Fails when any X-RuleMail-* header (in any letter case) is in the message's or a part's headers.</summary>
    public static void AssertNoRuleMailHeaders(MimeMessage message)
    {
        var fields = message.Headers.Select(h => h.Field).ToList();
        using (var iterator = new MimeIterator(message))
        {
            while (iterator.MoveNext())
            {
                fields.AddRange(iterator.Current.Headers.Select(h => h.Field));
            }
        }

        var found = fields.Where(f => f.StartsWith("X-RuleMail-", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.True(found.Count == 0, $"X-RuleMail headers from outside survived: {string.Join(", ", found)}");
    }

    /// <summary>Text with every line end made CRLF.</summary>
    public static string Canonical(string text) =>
        text.Replace(Crlf, "\n", StringComparison.Ordinal).Replace("\n", Crlf, StringComparison.Ordinal);

    public static byte[] Canonical(byte[] bytes)
    {
        var output = new List<byte>(bytes.Length + 64);
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r'))
            {
                output.Add((byte)'\r');
            }

            output.Add(bytes[i]);
        }

        return [.. output];
    }
}
