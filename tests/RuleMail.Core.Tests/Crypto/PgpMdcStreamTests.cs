using System.Buffers;
using System.Security.Cryptography;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// <see cref="PgpMdcStream"/> on plaintext it is handed directly (what the decrypting stream would give): the MDC is held
/// back and checked, and its pooled buffer goes back to the pool wiped, so the plaintext never reaches the pool's next user.
/// </summary>
public sealed class PgpMdcStreamTests
{
    private const int BlockSize = 16;

    [Fact]
    public void Content_with_its_mdc_is_handed_out_without_the_mdc_and_verifies()
    {
        var content = Enumerable.Range(0, 5000).Select(i => (byte)(i % 251 + 1)).ToArray();
        using var stream = new PgpMdcStream(new MemoryStream(WithMdc(content)), BlockSize);

        using var read = new MemoryStream();
        stream.CopyTo(read);

        Assert.Equal(content, read.ToArray());
        Assert.True(stream.Verify());
    }

    [Fact]
    public void A_flipped_content_byte_fails_the_check()
    {
        var plain = WithMdc(Enumerable.Repeat((byte)0x41, 3000).ToArray());
        plain[BlockSize + 2 + 1000] ^= 0x01;
        using var stream = new PgpMdcStream(new MemoryStream(plain), BlockSize);

        Assert.False(stream.Verify());
    }

    [Fact]
    public void The_buffer_goes_back_to_the_pool_wiped()
    {
        var content = Enumerable.Repeat((byte)0x5A, 20_000).ToArray();
        var pool = new WatchingPool();
        var stream = new PgpMdcStream(new MemoryStream(WithMdc(content)), BlockSize, pool);
        stream.CopyTo(Stream.Null);
        Assert.True(stream.Verify());
        Assert.Contains((byte)0x5A, pool.Rented!);

        stream.Dispose();

        // What the pool got back, as it was at that moment: the same array, with no byte of the plaintext left in it.
        Assert.Same(pool.Rented, pool.Returned);
        Assert.DoesNotContain((byte)0x5A, pool.ReturnedContent!);
        Assert.Throws<ObjectDisposedException>(() => stream.Read(new byte[1], 0, 1));
    }

    /// <summary>A pool of its own (the shared one is shared with every test running at the same time) that keeps what it lent and a copy of what came back.</summary>
    private sealed class WatchingPool : ArrayPool<byte>
    {
        public byte[]? Rented { get; private set; }

        public byte[]? Returned { get; private set; }

        public byte[]? ReturnedContent { get; private set; }

        public override byte[] Rent(int minimumLength)
        {
            Assert.Null(Rented);
            Rented = new byte[minimumLength];
            return Rented;
        }

        public override void Return(byte[] array, bool clearArray = false)
        {
            Assert.Null(Returned);
            Returned = array;
            ReturnedContent = [.. array];
        }
    }

    /// <summary>A random prefix and its check bytes, the content, then the MDC packet over all of it (RFC 4880 section 5.13).</summary>
    private static byte[] WithMdc(byte[] content)
    {
        var prefix = new byte[BlockSize + 2];
        prefix.AsSpan(0, BlockSize).Fill(0x11);
        var body = prefix.Concat(content).Concat(new byte[] { 0xD3, 0x14 }).ToArray();
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha1.AppendData(body);
        return [.. body, .. sha1.GetHashAndReset()];
    }
}
