using System.IO.Compression;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Security;

namespace RuleMail.Core.Tests.Support;

/// <summary>
/// Hand-built OpenPGP packets for what gpg will not make: decompression bombs of GBs built in milliseconds,
/// compressed packets nested deeper than any tool nests them, many signatures or anonymous recipients in one message.
/// Everything is encrypted for real (SEIPD with MDC) to keys made by gpg, so only the limits can refuse it.
/// </summary>
internal static class PgpPackets
{
    /// <summary>The encryption subkey of an exported public key (the first key that can encrypt and is not the primary).</summary>
    public static PgpPublicKey EncryptionKey(byte[] publicKeyFile) =>
        Pgp.PublicRing(publicKeyFile).GetPublicKeys().Cast<PgpPublicKey>().First(k => k.IsEncryptionKey && !k.IsMasterKey);

    /// <summary>A binary literal data packet holding <paramref name="content"/>.</summary>
    public static byte[] Literal(byte[] content)
    {
        using var buffer = new MemoryStream();
        var generator = new PgpLiteralDataGenerator();
        using (var literal = generator.Open(buffer, PgpLiteralData.Binary, string.Empty, content.Length, new DateTime(2025, 7, 1, 0, 0, 0, DateTimeKind.Utc)))
        {
            literal.Write(content);
        }

        return buffer.ToArray();
    }

    /// <summary><paramref name="packets"/> wrapped in a compressed data packet made by BouncyCastle's generator.</summary>
    public static byte[] Compressed(CompressionAlgorithmTag algorithm, byte[] packets)
    {
        using var buffer = new MemoryStream();
        var generator = new PgpCompressedDataGenerator(algorithm);
        using (var compressed = generator.Open(buffer))
        {
            compressed.Write(packets);
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// A compressed data packet (old format, indeterminate length: it runs to the end of what holds it) around an already
    /// compressed body, as gpg writes them.
    /// </summary>
    public static byte[] CompressedPacket(CompressionAlgorithmTag algorithm, byte[] compressedBody) =>
        [0x80 | (8 << 2) | 3, (byte)algorithm, .. compressedBody];

    /// <summary>
    /// A raw deflate stream that inflates to a binary literal data packet of <paramref name="megabytes"/> MB of zeros, built in
    /// milliseconds: one sync-flushed chunk of a fresh compressor (1 MB of zeros in about 1 KB, referring to nothing before it)
    /// repeated, after a chunk holding the literal packet's header, and closed by an empty final block.
    /// </summary>
    public static byte[] DeflateBomb(int megabytes)
    {
        // Old-format literal packet with indeterminate length: tag 11, binary, no file name, date 0.
        byte[] literalHeader = [0x80 | (11 << 2) | 3, (byte)'b', 0, 0, 0, 0, 0];
        var header = SyncFlushed(literalHeader);
        var zeros = SyncFlushed(new byte[1024 * 1024]);
        using var bomb = new MemoryStream(header.Length + (zeros.Length * megabytes) + 2);
        bomb.Write(header);
        for (var i = 0; i < megabytes; i++)
        {
            bomb.Write(zeros);
        }

        // BFINAL=1, BTYPE=01 (fixed Huffman), end-of-block: the bytes zlib writes on Z_FINISH after a flush.
        bomb.Write([0x03, 0x00]);
        return bomb.ToArray();
    }

    /// <summary>The OpenPGP message (binary): <paramref name="plaintext"/> packets in SEIPD with MDC, for each key in <paramref name="recipients"/>.</summary>
    public static byte[] Encrypt(byte[] plaintext, SymmetricKeyAlgorithmTag cipher, params PgpPublicKey[] recipients)
    {
        using var buffer = new MemoryStream();
        var generator = new PgpEncryptedDataGenerator(cipher, withIntegrityPacket: true, new SecureRandom());
        foreach (var recipient in recipients)
        {
            generator.AddMethod(recipient);
        }

        using (var encrypted = generator.Open(buffer, new byte[1 << 16]))
        {
            encrypted.Write(plaintext);
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// <see cref="Encrypt"/>, then every session-key packet's key ID set to 0, as <c>gpg --throw-keyids</c> does: the
    /// recipients are anonymous and a receiver must try its keys on each.
    /// </summary>
    public static byte[] EncryptAnonymously(byte[] plaintext, params PgpPublicKey[] recipients)
    {
        var message = Encrypt(plaintext, SymmetricKeyAlgorithmTag.Aes256, recipients);
        foreach (var keyId in recipients.Select(r => r.KeyId).Distinct())
        {
            Replace(message, keyId, 0);
        }

        return message;
    }

    /// <summary>A raw deflate stream of <paramref name="content"/> repeated <paramref name="times"/> times.</summary>
    public static byte[] DeflateRepeated(byte[] content, int times)
    {
        using var buffer = new MemoryStream();
        using (var deflate = new DeflateStream(buffer, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            for (var i = 0; i < times; i++)
            {
                deflate.Write(content);
            }
        }

        return buffer.ToArray();
    }

    /// <summary><see cref="Encrypt"/>, then every session-key packet naming <paramref name="from"/> made to name <paramref name="to"/> instead.</summary>
    public static byte[] EncryptNaming(byte[] plaintext, PgpPublicKey from, long to, int copies)
    {
        var message = Encrypt(plaintext, SymmetricKeyAlgorithmTag.Aes256, [.. Enumerable.Repeat(from, copies)]);
        Replace(message, from.KeyId, to);
        return message;
    }

    private static void Replace(byte[] message, long keyId, long with)
    {
        var id = KeyIdBytes(keyId);
        var replacement = KeyIdBytes(with);
        for (var at = message.AsSpan().IndexOf(id); at >= 0; at = IndexOf(message, id, at + 1))
        {
            replacement.CopyTo(message, at);
        }
    }

    private static byte[] KeyIdBytes(long keyId)
    {
        var id = BitConverter.GetBytes(keyId);
        if (BitConverter.IsLittleEndian)
        {
            Array.Reverse(id);
        }

        return id;
    }

    private static int IndexOf(byte[] haystack, byte[] needle, int from)
    {
        var found = haystack.AsSpan(from).IndexOf(needle);
        return found < 0 ? -1 : from + found;
    }

    private static byte[] SyncFlushed(byte[] content)
    {
        using var buffer = new MemoryStream();
        using var deflate = new DeflateStream(buffer, CompressionLevel.SmallestSize, leaveOpen: true);
        deflate.Write(content);
        deflate.Flush();
        var chunk = buffer.ToArray();
        return chunk.AsSpan()[^4..].SequenceEqual((byte[])[0x00, 0x00, 0xFF, 0xFF])
            ? chunk
            : throw new InvalidOperationException("DeflateStream.Flush did not end the chunk with a sync-flush marker");
    }
}
