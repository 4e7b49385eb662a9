using System.Buffers;
using System.Security.Cryptography;

namespace RuleMail.Crypto;

/// <summary>
/// The plaintext of a version 1 symmetrically encrypted integrity-protected packet (RFC 4880 section 5.13), read from its
/// decrypting stream: the random prefix and its two check bytes are skipped (not compared, as BouncyCastle does not:
/// comparing them is an oracle), the 22 bytes of the modification detection code packet at the end are held back from
/// the reader, and <see cref="Verify"/> checks the SHA-1 over prefix, plaintext and the MDC packet's header against them.
/// </summary>
/// <remarks>
/// What it hands out is not yet checked: the caller must keep it to itself until <see cref="Verify"/> returned true,
/// as it did with BouncyCastle's own stream. Not thread-safe (one message, one reader).
/// </remarks>
internal sealed class PgpMdcStream : Stream
{
    /// <summary>The MDC packet: tag 19 as a new-format header (0xD3), length 20 (0x14), the SHA-1.</summary>
    private const int MdcLength = 22;

    private readonly Stream _decrypted;
    private readonly IncrementalHash _sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
    // Pooled, not allocated per message (64 KB zeroed by the allocator, then wiped again): the part that held plaintext
    // is wiped before it goes back to the pool, so no other user of the pool ever sees it.
    private readonly ArrayPool<byte> _pool;
    private readonly byte[] _buffer;
    private int _start;
    private int _end;
    private int _used;
    private bool _ended;
    private bool _disposed;

    /// <summary>Reads and hashes the prefix at once; a stream too short to hold it throws <see cref="EndOfStreamException"/>.</summary>
    public PgpMdcStream(Stream decrypted, int blockSize)
        : this(decrypted, blockSize, ArrayPool<byte>.Shared)
    {
    }

    /// <summary>As the public constructor, with the pool the buffer comes from and goes back to (tests watch it).</summary>
    internal PgpMdcStream(Stream decrypted, int blockSize, ArrayPool<byte> pool)
    {
        ArgumentNullException.ThrowIfNull(decrypted);
        ArgumentNullException.ThrowIfNull(pool);
        _decrypted = decrypted;
        _pool = pool;
        _buffer = pool.Rent(64 * 1024);
        var prefix = new byte[blockSize + 2];
        decrypted.ReadExactly(prefix);
        _sha1.AppendData(prefix);
    }

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
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty)
        {
            return 0;
        }

        Fill();
        var available = Math.Min(_end - _start - MdcLength, buffer.Length);
        if (available <= 0)
        {
            return 0;
        }

        var handed = _buffer.AsSpan(_start, available);
        handed.CopyTo(buffer);
        _sha1.AppendData(handed);
        _start += available;
        return available;
    }

    /// <summary>
    /// Reads to the end and checks the modification detection code: true only when the last 22 bytes are an MDC packet
    /// whose SHA-1 covers everything before it (the comparison in constant time).
    /// </summary>
    public bool Verify()
    {
        Span<byte> rest = stackalloc byte[4096];
        while (Read(rest) > 0)
        {
        }

        if (_end - _start != MdcLength)
        {
            return false;
        }

        var mdc = _buffer.AsSpan(_start, MdcLength);
        _sha1.AppendData(mdc[..2]);
        var digest = _sha1.GetHashAndReset();
        return mdc[0] == 0xD3 && mdc[1] == 0x14 && CryptographicOperations.FixedTimeEquals(digest, mdc[2..]);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            CryptographicOperations.ZeroMemory(_buffer.AsSpan(0, _used));
            _pool.Return(_buffer);
            _sha1.Dispose();
            _decrypted.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Keeps more than the MDC's 22 bytes buffered until the decrypting stream ends, so the reader never gets them.</summary>
    private void Fill()
    {
        while (!_ended && _end - _start <= MdcLength)
        {
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }

            var read = _decrypted.Read(_buffer, _end, _buffer.Length - _end);
            if (read == 0)
            {
                _ended = true;
            }

            _end += read;
            _used = Math.Max(_used, _end);
        }
    }
}
