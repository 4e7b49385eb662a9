using System.IO.Compression;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Utilities.Bzip2;

namespace RuleMail.Crypto;

/// <summary>
/// Inflates the compressed packets of one OpenPGP message under the policy's limits, counting while it inflates:
/// every byte that comes out of any layer counts against one budget, so a message of a few KB that would expand to
/// GBs stops at the limit instead of filling memory. Three rules, each with its own refusal:
/// <list type="bullet">
/// <item>nesting deeper than <see cref="SecurityPolicy.MaxCompressionDepth"/> is refused before the deeper layer is inflated;</item>
/// <item>all layers together may inflate to at most the limit (<see cref="SecurityPolicy.MaxDecompressedBytes"/>, or less for signature data);</item>
/// <item>beyond <see cref="SecurityPolicy.CompressionRatioGraceBytes"/>, the inflated bytes may not exceed
///   <see cref="SecurityPolicy.MaxCompressionRatio"/> times the compressed bytes read from the message itself (the outermost layer),
///   so a bomb is stopped after megabytes rather than after the whole limit (BouncyCastle's bzip2 inflates about 100 MB/s).</item>
/// </list>
/// When a rule is hit, the stream in use throws <see cref="PgpLimitException"/> and <see cref="Refusal"/> says why;
/// callers look at <see cref="Refusal"/> first, whatever exception BouncyCastle made of it on its way out.
/// </summary>
/// <remarks>One instance per message; not thread-safe.</remarks>
internal sealed class PgpInflation(SecurityPolicy policy, long limit)
{
    private long _inflated;
    private long _compressed;

    /// <summary>How many compressed packets have been opened inside one another.</summary>
    public int Depth { get; private set; }

    /// <summary>The bytes inflated so far, over all layers.</summary>
    public long Inflated => _inflated;

    /// <summary>The failure comment once a limit was hit; null while none was.</summary>
    public string? Refusal { get; private set; }

    /// <summary>The inflating stream of <paramref name="data"/>, one layer deeper than the last one opened.</summary>
    /// <exception cref="PgpLimitException">The layer would be nested too deeply.</exception>
    public Stream Open(PgpCompressedData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (Depth + 1 > policy.MaxCompressionDepth)
        {
            throw Refuse(SecurityComments.CompressionTooDeep(policy.MaxCompressionDepth));
        }

        Depth++;
        var input = data.GetInputStream();
        if (Depth == 1)
        {
            input = new CountingStream(input, this, counting: Count.Compressed);
        }

        Stream inflating = data.Algorithm switch
        {
            CompressionAlgorithmTag.Uncompressed => input,
            CompressionAlgorithmTag.Zip => new DeflateStream(input, CompressionMode.Decompress),
            CompressionAlgorithmTag.ZLib => new ZLibStream(input, CompressionMode.Decompress),
            CompressionAlgorithmTag.BZip2 => new CBZip2InputStream(input),
            _ => throw new PgpException($"unknown compression algorithm {(int)data.Algorithm}"),
        };
        return new CountingStream(inflating, this, counting: Count.Inflated);
    }

    private void Add(Count what, int bytes)
    {
        if (what == Count.Compressed)
        {
            _compressed += bytes;
            return;
        }

        _inflated += bytes;
        if (_inflated > limit)
        {
            throw Refuse(SecurityComments.DecompressedTooLarge(limit));
        }

        if (_inflated > policy.CompressionRatioGraceBytes && _inflated > policy.MaxCompressionRatio * Math.Max(_compressed, 1))
        {
            throw Refuse(SecurityComments.CompressionRatioTooHigh(policy.MaxCompressionRatio));
        }
    }

    private PgpLimitException Refuse(string comment)
    {
        Refusal ??= comment;
        return new PgpLimitException(Refusal);
    }

    private enum Count
    {
        Compressed,
        Inflated,
    }

    /// <summary>Reads through and counts what it read; the count is checked before the bytes are handed on.</summary>
    private sealed class CountingStream(Stream inner, PgpInflation budget, Count counting) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (budget.Refusal is { } refusal)
            {
                // BouncyCastle may catch the first throw and read on: every later read fails the same way.
                throw new PgpLimitException(refusal);
            }

            var read = inner.Read(buffer);
            budget.Add(counting, read);
            return read;
        }

        public override int ReadByte()
        {
            Span<byte> one = stackalloc byte[1];
            return Read(one) == 1 ? one[0] : -1;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
