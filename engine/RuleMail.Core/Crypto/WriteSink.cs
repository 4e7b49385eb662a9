namespace RuleMail.Crypto;

/// <summary>
/// A write-only stream that hands each write to <paramref name="write"/>: content a writer produces (MimeKit writing an
/// entity, a spool copied out) goes straight into a hash or a signature check, never into an array.
/// </summary>
internal sealed class WriteSink(Action<byte[], int, int> write) : Stream
{
    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => write(buffer, offset, count);

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
