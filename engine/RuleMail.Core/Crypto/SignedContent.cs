using System.Security.Cryptography;
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
        var options = CanonicalFormat();
        return Exactly(target => entity.WriteTo(options, target));
    }

    /// <summary>Writes <see cref="Canonical"/>'s bytes into <paramref name="target"/>, for content too large for an array.</summary>
    public static void WriteCanonical(MimeEntity entity, Stream target) => entity.WriteTo(CanonicalFormat(), target);

    /// <summary>How the canonical form is written: as transmitted, with CRLF line endings.</summary>
    private static FormatOptions CanonicalFormat()
    {
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        return options;
    }

    /// <summary>
    /// The digest of <see cref="Canonical"/>'s bytes, written straight into the hash: a large entity (read from its spool
    /// or the raw message file) is never copied into an array. Each algorithm is computed once per <paramref name="entity"/>.
    /// </summary>
    public static Func<HashAlgorithmName, byte[]> CanonicalDigest(MimeEntity entity)
    {
        var options = CanonicalFormat();
        var digests = new Dictionary<HashAlgorithmName, byte[]>();
        return name =>
        {
            if (!digests.TryGetValue(name, out var digest))
            {
                using var hash = IncrementalHash.CreateHash(name);
                using (var hashing = new WriteSink(hash.AppendData))
                {
                    entity.WriteTo(options, hashing);
                }

                digests[name] = digest = hash.GetHashAndReset();
            }

            return digest;
        };
    }

    /// <summary>
    /// The encoded size of an entity's leaf contents as they are stored (no copy, no decoding): whether it is large
    /// enough for the streamed path. Null when a content's length is not known without reading it.
    /// </summary>
    public static long? StoredSize(MimeEntity entity)
    {
        switch (entity)
        {
            case MimePart { Content: null }:
                return 0;
            case MimePart { Content.Stream: { CanSeek: true } stream }:
                return stream.Length;
            case Multipart multipart:
                long total = 0;
                foreach (var child in multipart)
                {
                    if (StoredSize(child) is not { } size)
                    {
                        return null;
                    }

                    total += size;
                }

                return total;
            case MessagePart { Message.Body: { } body }:
                return StoredSize(body);
            default:
                return null;
        }
    }

    /// <summary>Decodes a leaf part's content into <paramref name="target"/> (base64 or quoted-printable undone) and rewinds it.</summary>
    public static void DecodeTo(MimePart part, Stream target)
    {
        part.Content?.DecodeTo(target);
        target.Position = 0;
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
