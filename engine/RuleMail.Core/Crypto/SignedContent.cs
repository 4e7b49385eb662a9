using MimeKit;
using MimeKit.IO;

namespace RuleMail.Crypto;

/// <summary>Bytes as signers sign them, and MIME entities made from decrypted bytes.</summary>
internal static class SignedContent
{
    /// <summary>
    /// The canonical form of <paramref name="entity"/> (RFC 1847/3156/8551): the entity as transmitted,
    /// with CRLF line endings. MimeKit writes parsed headers and content back unchanged.
    /// </summary>
    public static byte[] Canonical(MimeEntity entity)
    {
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        using var buffer = new MemoryBlockStream();
        entity.WriteTo(options, buffer);
        return buffer.ToArray();
    }

    /// <summary>The decoded content of a leaf part (base64 or quoted-printable undone).</summary>
    public static byte[] Decoded(MimePart part)
    {
        using var buffer = new MemoryBlockStream();
        part.Content?.DecodeTo(buffer);
        return buffer.ToArray();
    }

    public static MimeEntity Parse(byte[] bytes)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        return MimeEntity.Load(stream);
    }

    /// <summary>The same message with <paramref name="body"/> in place of its body: the outer headers stay.</summary>
    public static MimeMessage WithBody(MimeMessage message, MimeEntity body)
    {
        var copy = new MimeMessage(message.Headers
            .Where(h => h.Id is not HeaderId.ContentType and not HeaderId.ContentTransferEncoding and not HeaderId.ContentDisposition
                and not HeaderId.ContentDescription and not HeaderId.ContentId and not HeaderId.MimeVersion)
            .Select(h => h.Clone()));
        copy.Body = body;
        return copy;
    }
}
