using System.Formats.Asn1;
using System.Security.Cryptography;

namespace RuleMail.Crypto;

/// <summary>
/// Opaque signed-data too large to hold in memory, read from its decoded CMS on a spool: the encapsulated content is
/// copied out of the encoding into another spool while the digests the SignedData names are computed, and everything
/// else (version, digest algorithms, certificates, CRLs, signer infos) is kept exactly as sent, in a signed-data without
/// its content that <see cref="CmsSignedData"/> reads as it reads small mail; so the signer is judged by the same code,
/// only the source of the content's digest differs. <see cref="Read"/> returns null for any other shape (the caller then
/// takes the in-memory path).
/// </summary>
/// <remarks>
/// BER is walked here header by header on the file (tag, then a definite length or the indefinite form), since both
/// System.Formats.Asn1 and BouncyCastle's parsers want either the whole value in memory or re-encode what they parse;
/// every value but the content is at most <see cref="MaxElement"/> bytes and is decoded by System.Formats.Asn1.
/// Not thread-safe: one message's analysis owns it.
/// </remarks>
internal sealed class LargeSignedData
{
    /// <summary>The largest element other than the content (a certificate set of 100 certificates is far below it).</summary>
    private const int MaxElement = 16 * 1024 * 1024;

    private const int MaxDepth = 32;

    private const int Chunk = 81920;

    private static readonly Asn1Tag Explicit0 = new(TagClass.ContextSpecific, 0, isConstructed: true);

    private readonly Stream _content;
    private readonly Dictionary<HashAlgorithmName, byte[]> _digests;

    private LargeSignedData(CmsSignedData detached, Stream content, Dictionary<HashAlgorithmName, byte[]> digests)
    {
        Detached = detached;
        _content = content;
        _digests = digests;
    }

    /// <summary>The signed-data without its content, as <see cref="CmsSignedData"/> read it.</summary>
    public CmsSignedData Detached { get; }

    /// <summary>
    /// The digest of the content: computed while it was copied out for the algorithms the SignedData names, otherwise
    /// (a signer naming another) by reading the content's spool once more.
    /// </summary>
    public byte[] DigestOf(HashAlgorithmName name)
    {
        if (!_digests.TryGetValue(name, out var digest))
        {
            _content.Position = 0;
            using var hash = IncrementalHash.CreateHash(name);
            var buffer = new byte[Chunk];
            int read;
            while ((read = _content.Read(buffer, 0, buffer.Length)) > 0)
            {
                hash.AppendData(buffer, 0, read);
            }

            _content.Position = 0;
            _digests[name] = digest = hash.GetHashAndReset();
        }

        return digest;
    }

    /// <summary>
    /// Reads the signed-data on <paramref name="contentInfo"/>, writing its encapsulated id-data content into
    /// <paramref name="content"/> (rewound); null, with <paramref name="content"/> emptied, when it is not signed-data of
    /// the shape <see cref="CmsSignedData"/> reads, or cannot be read at all.
    /// </summary>
    public static LargeSignedData? Read(Stream contentInfo, Stream content)
    {
        var hashes = new Dictionary<HashAlgorithmName, IncrementalHash>();
        try
        {
            contentInfo.Position = 0;
            content.SetLength(0);
            var info = Header(contentInfo, Asn1Tag.Sequence);
            var type = Element(contentInfo);
            if (AsnDecoder.ReadObjectIdentifier(type, AsnEncodingRules.BER, out _) != SmimeDecryption.SignedDataOid)
            {
                return null;
            }

            var wrapper = Header(contentInfo, Explicit0);
            var signedData = Header(contentInfo, Asn1Tag.Sequence);
            var version = Element(contentInfo);
            var digestAlgorithms = Element(contentInfo);
            var encapsulated = Header(contentInfo, Asn1Tag.Sequence);
            var contentType = Element(contentInfo);
            if (AsnDecoder.ReadObjectIdentifier(contentType, AsnEncodingRules.BER, out _) != CmsSignedData.DataOid || AtEnd(contentInfo, encapsulated))
            {
                return null;
            }

            foreach (var name in Named(digestAlgorithms))
            {
                hashes.TryAdd(name, IncrementalHash.CreateHash(name));
            }

            var explicitContent = Header(contentInfo, Explicit0);
            // One buffer for every segment: a constructed string may hold millions of empty ones, two bytes each.
            CopyOctets(contentInfo, ReadHeader(contentInfo), content, hashes.Values, new byte[Chunk], depth: 0);
            Close(contentInfo, explicitContent);
            Close(contentInfo, encapsulated);

            // Certificates, CRLs and signer infos, each as sent.
            var rest = new List<byte[]>();
            while (!AtEnd(contentInfo, signedData))
            {
                rest.Add(Element(contentInfo));
            }

            Close(contentInfo, signedData);
            Close(contentInfo, wrapper);
            Close(contentInfo, info);
            if (contentInfo.Position != contentInfo.Length)
            {
                return null;
            }

            var writer = new AsnWriter(AsnEncodingRules.BER);
            using (writer.PushSequence())
            {
                writer.WriteEncodedValue(type);
                using (writer.PushSequence(Explicit0))
                using (writer.PushSequence())
                {
                    writer.WriteEncodedValue(version);
                    writer.WriteEncodedValue(digestAlgorithms);
                    using (writer.PushSequence())
                    {
                        writer.WriteEncodedValue(contentType);
                    }

                    foreach (var element in rest)
                    {
                        writer.WriteEncodedValue(element);
                    }
                }
            }

            if (CmsSignedData.TryRead(writer.Encode()) is not { Content: null } detached)
            {
                content.SetLength(0);
                return null;
            }

            content.Position = 0;
            return new LargeSignedData(detached, content, hashes.ToDictionary(h => h.Key, h => h.Value.GetHashAndReset()));
        }
        catch (Exception e) when (e is IOException or AsnContentException or ArgumentException or CryptographicException)
        {
            content.SetLength(0);
            return null;
        }
        finally
        {
            foreach (var hash in hashes.Values)
            {
                hash.Dispose();
            }
        }
    }

    /// <summary>The SHA-1/SHA-2 digests of a DigestAlgorithmIdentifiers set; others are computed on demand.</summary>
    private static IEnumerable<HashAlgorithmName> Named(byte[] digestAlgorithms)
    {
        var names = new List<HashAlgorithmName>();
        var set = new AsnReader(digestAlgorithms, AsnEncodingRules.BER).ReadSetOf(skipSortOrderValidation: true);
        while (set.HasData && names.Count < 4)
        {
            HashAlgorithmName? name = CmsAlgorithms.DigestName(set.ReadSequence().ReadObjectIdentifier()) switch
            {
                "sha1" => HashAlgorithmName.SHA1,
                "sha256" => HashAlgorithmName.SHA256,
                "sha384" => HashAlgorithmName.SHA384,
                "sha512" => HashAlgorithmName.SHA512,
                _ => null,
            };
            if (name is { } known)
            {
                names.Add(known);
            }
        }

        return names;
    }

    /// <summary>The eContent OCTET STRING, primitive or constructed of segments, copied into <paramref name="target"/> and hashed.</summary>
    private static void CopyOctets(Stream source, Tlv octets, Stream target, IEnumerable<IncrementalHash> hashes, byte[] buffer, int depth)
    {
        if (!octets.Tag.HasSameClassAndValue(Asn1Tag.PrimitiveOctetString) || depth > MaxDepth)
        {
            throw new AsnContentException("the encapsulated content is not an OCTET STRING");
        }

        if (!octets.Tag.IsConstructed)
        {
            for (var left = octets.Length ?? throw new AsnContentException("a primitive value of indefinite length"); left > 0;)
            {
                var read = source.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (read == 0)
                {
                    throw new IOException("the encapsulated content ends early");
                }

                foreach (var hash in hashes)
                {
                    hash.AppendData(buffer, 0, read);
                }

                target.Write(buffer, 0, read);
                left -= read;
            }

            return;
        }

        while (!AtEnd(source, octets))
        {
            CopyOctets(source, ReadHeader(source), target, hashes, buffer, depth + 1);
        }

        Close(source, octets);
    }

    /// <summary>A header that must have <paramref name="expected"/>'s class and number and be constructed.</summary>
    private static Tlv Header(Stream source, Asn1Tag expected)
    {
        var header = ReadHeader(source);
        return header.Tag.HasSameClassAndValue(expected) && header.Tag.IsConstructed
            ? header
            : throw new AsnContentException($"expected {expected}, found {header.Tag}");
    }

    /// <summary>One whole element (header and value, of definite or indefinite length) as it is encoded.</summary>
    private static byte[] Element(Stream source)
    {
        var start = source.Position;
        Skip(source, ReadHeader(source), depth: 0);
        var length = source.Position - start;
        if (length > MaxElement)
        {
            throw new AsnContentException("an element of the signed-data is too large");
        }

        var bytes = new byte[length];
        source.Position = start;
        source.ReadExactly(bytes);
        return bytes;
    }

    private static void Skip(Stream source, Tlv header, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new AsnContentException("nested too deep");
        }

        if (header.Length is { } length)
        {
            if (header.Start + length > source.Length)
            {
                throw new IOException("an element ends past the data");
            }

            source.Position = header.Start + length;
            return;
        }

        while (!AtEnd(source, header))
        {
            Skip(source, ReadHeader(source), depth + 1);
        }

        Close(source, header);
    }

    /// <summary>Whether the constructed value <paramref name="header"/> opened has no more elements.</summary>
    private static bool AtEnd(Stream source, Tlv header)
    {
        if (header.Length is { } length)
        {
            var end = header.Start + length;
            return source.Position == end || (source.Position > end ? throw new AsnContentException("an element runs past its container") : false);
        }

        var position = source.Position;
        var first = source.ReadByte();
        var second = source.ReadByte();
        source.Position = position;
        return first == 0 && second == 0;
    }

    /// <summary>Ends the constructed value <paramref name="header"/> opened: its length is used up, or its end-of-contents follows.</summary>
    private static void Close(Stream source, Tlv header)
    {
        if (header.Length is { } length)
        {
            if (source.Position != header.Start + length)
            {
                throw new AsnContentException("a container's length does not match its contents");
            }

            return;
        }

        if (source.ReadByte() != 0 || source.ReadByte() != 0)
        {
            throw new AsnContentException("an indefinite length has no end-of-contents");
        }
    }

    /// <summary>Reads an identifier and a length; the stream is then at the value's first byte.</summary>
    private static Tlv ReadHeader(Stream source)
    {
        Span<byte> identifier = stackalloc byte[6];
        var count = 0;
        identifier[count++] = Next(source);
        if ((identifier[0] & 0x1F) == 0x1F)
        {
            do
            {
                if (count == identifier.Length)
                {
                    throw new AsnContentException("a tag number too large");
                }

                identifier[count] = Next(source);
            }
            while ((identifier[count++] & 0x80) != 0);
        }

        if (!Asn1Tag.TryDecode(identifier[..count], out var tag, out var used) || used != count)
        {
            throw new AsnContentException("an unreadable tag");
        }

        var first = Next(source);
        long? length;
        if (first < 0x80)
        {
            length = first;
        }
        else if (first == 0x80)
        {
            length = tag.IsConstructed ? null : throw new AsnContentException("a primitive value of indefinite length");
        }
        else
        {
            var octets = first & 0x7F;
            if (octets > 7)
            {
                throw new AsnContentException("a length too large");
            }

            long value = 0;
            for (var i = 0; i < octets; i++)
            {
                value = (value << 8) | Next(source);
            }

            length = value;
        }

        return new Tlv(tag, length, source.Position);
    }

    private static byte Next(Stream source)
    {
        var value = source.ReadByte();
        return value < 0 ? throw new IOException("the signed-data ends early") : (byte)value;
    }

    /// <summary>An element's tag, its value's length (null: indefinite) and where its value starts.</summary>
    private readonly record struct Tlv(Asn1Tag Tag, long? Length, long Start);
}
