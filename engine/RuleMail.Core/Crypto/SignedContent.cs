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
        return Exactly(target => entity.WriteTo(options, target));
    }

    /// <summary>The decoded content of a leaf part (base64 or quoted-printable undone).</summary>
    public static byte[] Decoded(MimePart part) => Exactly(target => part.Content?.DecodeTo(target));

    /// <summary>
    /// Parses decrypted bytes without copying them: MimeKit's parts keep referring to <paramref name="bytes"/>
    /// (a 50 MB attachment stays one 50 MB array, not two).
    /// </summary>
    public static MimeEntity Parse(byte[] bytes)
    {
#pragma warning disable CA2000 // The entity keeps reading from the stream; a MemoryStream holds nothing to release.
        var stream = new MemoryStream(bytes, writable: false);
#pragma warning restore CA2000
        return MimeEntity.Load(IncomingSecurity.ParserOptions, stream, persistent: true);
    }

    /// <summary>
    /// Writes twice — once to count, once into an array of exactly that size — so a large entity costs one copy,
    /// not a growing buffer plus its copy.
    /// </summary>
    private static byte[] Exactly(Action<Stream> write)
    {
        using var measure = new MeasuringStream();
        write(measure);
        var bytes = new byte[measure.Length];
        using var target = new MemoryStream(bytes, writable: true);
        write(target);
        return target.Position == bytes.Length
            ? bytes
            : throw new InvalidOperationException("the entity wrote different lengths twice");
    }

    /// <summary>The same message with <paramref name="body"/> in place of its body: the outer headers stay.</summary>
    public static MimeMessage WithBody(MimeMessage message, MimeEntity body)
    {
        var copy = new MimeMessage(message.Headers
            .Where(h => !h.Field.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
            .Select(h => h.Clone()));
        copy.Body = body;
        return copy;
    }
}
