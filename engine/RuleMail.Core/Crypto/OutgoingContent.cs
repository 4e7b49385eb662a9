using MimeKit;

namespace RuleMail.Crypto;

/// <summary>
/// Makes the entity that gets signed or encrypted: a copy of the body in a form transport cannot change, and
/// the exact bytes MimeKit will write for it. Signatures break when a relay re-encodes 8-bit text, strips
/// trailing spaces or escapes mbox "From " lines; so every leaf in 7bit/8bit/binary is re-encoded
/// (quoted-printable for text, base64 otherwise) and quoted-printable lines starting with "From " get their
/// F encoded (RFC 3156 section 3, RFC 8551 section 3.1).
/// </summary>
internal static class OutgoingContent
{
    private static readonly byte[] FromMarker = "From "u8.ToArray();
    private static readonly byte[] EscapedFromMarker = "=46rom "u8.ToArray();

    /// <summary>
    /// A transport-safe copy of <paramref name="body"/>, parsed from its own canonical bytes so that MimeKit
    /// writes it back byte for byte, and those canonical (CRLF) bytes. The caller's entity is left as it was.
    /// </summary>
    public static (MimeEntity Entity, byte[] Canonical) Prepare(MimeEntity body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var copy = SignedContent.Parse(WithSafeEncodings(body));
        OwnHeaders.Remove(copy.Headers);
        EscapeFromLines(copy);

        var entity = SignedContent.Parse(SignedContent.Canonical(copy));
        return (entity, SignedContent.Canonical(entity));
    }

    /// <summary>The canonical bytes of <paramref name="entity"/> parsed back, and those bytes (the form a verifier recomputes).</summary>
    public static (MimeEntity Entity, byte[] Canonical) Reparse(MimeEntity entity)
    {
        var parsed = SignedContent.Parse(SignedContent.Canonical(entity));
        return (parsed, SignedContent.Canonical(parsed));
    }

    /// <summary>
    /// The canonical bytes of <paramref name="body"/> with every identity-encoded leaf re-encoded. The transfer
    /// encodings are changed only while writing and put back after, so the caller's message is untouched.
    /// </summary>
    private static byte[] WithSafeEncodings(MimeEntity body)
    {
        var changed = new List<(MimePart Part, ContentEncoding Encoding)>();
        try
        {
            foreach (var part in Leaves(body))
            {
                if (part.ContentTransferEncoding is ContentEncoding.Default or ContentEncoding.SevenBit or ContentEncoding.EightBit or ContentEncoding.Binary)
                {
                    changed.Add((part, part.ContentTransferEncoding));
                    part.ContentTransferEncoding = IsText(part) ? ContentEncoding.QuotedPrintable : ContentEncoding.Base64;
                }
            }

            return SignedContent.Canonical(body);
        }
        finally
        {
            foreach (var (part, encoding) in changed)
            {
                part.ContentTransferEncoding = encoding;
            }
        }
    }

    /// <summary>Quoted-printable content whose encoded lines start with "From " gets "=46rom " there: the same text, safe from mbox escaping.</summary>
    private static void EscapeFromLines(MimeEntity entity)
    {
        foreach (var part in Leaves(entity))
        {
            if (part.ContentTransferEncoding != ContentEncoding.QuotedPrintable || part.Content is null)
            {
                continue;
            }

            using var raw = new MemoryStream();
            part.Content.WriteTo(raw);
            var bytes = raw.ToArray();
            if (!HasFromLine(bytes))
            {
                continue;
            }

            part.Content = new MimeContent(new MemoryStream(EscapeFromLines(bytes), writable: false), ContentEncoding.QuotedPrintable);
        }
    }

    private static bool HasFromLine(byte[] bytes)
    {
        for (var i = 0; i <= bytes.Length - FromMarker.Length; i++)
        {
            if ((i == 0 || bytes[i - 1] == '\n') && bytes.AsSpan(i).StartsWith(FromMarker))
            {
                return true;
            }
        }

        return false;
    }

    private static byte[] EscapeFromLines(byte[] bytes)
    {
        using var output = new MemoryStream(bytes.Length + 16);
        for (var i = 0; i < bytes.Length; i++)
        {
            if ((i == 0 || bytes[i - 1] == '\n') && bytes.AsSpan(i).StartsWith(FromMarker))
            {
                output.Write(EscapedFromMarker);
                i += FromMarker.Length - 1;
                continue;
            }

            output.WriteByte(bytes[i]);
        }

        return output.ToArray();
    }

    /// <summary>Every leaf part, including those of attached messages.</summary>
    private static IEnumerable<MimePart> Leaves(MimeEntity entity)
    {
        switch (entity)
        {
            case Multipart multipart:
                foreach (var child in multipart)
                {
                    foreach (var leaf in Leaves(child))
                    {
                        yield return leaf;
                    }
                }

                break;
            case MessagePart { Message.Body: { } attached }:
                foreach (var leaf in Leaves(attached))
                {
                    yield return leaf;
                }

                break;
            case MimePart part:
                yield return part;
                break;
        }
    }

    private static bool IsText(MimePart part) =>
        part is TextPart || part.ContentType.MediaType.Equals("text", StringComparison.OrdinalIgnoreCase);

}
