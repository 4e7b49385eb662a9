using System.Security.Cryptography;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace RuleMail.Crypto;

/// <summary>
/// The bytes an OpenPGP signature covers, wherever they are: an array (a small message, hashed in one call), or content
/// written out in pieces (the literal data on a <see cref="Spool"/>, a large signed MIME entity), hashed as it is written
/// and never copied into an array. Every signature is judged by the same code whichever source it has.
/// </summary>
internal sealed class PgpSignedContent
{
    private readonly Action<Stream>? _write;

    private PgpSignedContent(byte[]? bytes, Action<Stream>? write)
    {
        Bytes = bytes;
        _write = write;
    }

    /// <summary>The content when it is in memory; null when it is only written out.</summary>
    public byte[]? Bytes { get; }

    public static PgpSignedContent Of(byte[] bytes) => new(bytes, null);

    /// <summary>Content that <paramref name="write"/> writes out whole, each time it is called (once per signature judged).</summary>
    public static PgpSignedContent Written(Action<Stream> write) => new(null, write);

    /// <summary>The content of a spool file, from its start.</summary>
    public static PgpSignedContent OfSpool(Spool spool) => Written(target =>
    {
        spool.Stream.Position = 0;
        spool.Stream.CopyTo(target);
    });

    /// <summary>Writes the whole content into <paramref name="target"/>.</summary>
    public void WriteTo(Stream target)
    {
        if (Bytes is not null)
        {
            target.Write(Bytes);
        }
        else
        {
            _write!(target);
        }
    }

    /// <summary>BouncyCastle's check of <paramref name="signature"/> by <paramref name="key"/> over this content.</summary>
    public bool VerifyWithBouncyCastle(PgpSignature signature, PgpPublicKey key)
    {
        signature.InitVerify(key);
        if (Bytes is not null)
        {
            signature.Update(Bytes);
        }
        else
        {
            // BouncyCastle keeps the canonical-text state (a CR at the end of one piece) between calls.
            using var updating = new WriteSink(signature.Update);
            _write!(updating);
        }

        return signature.Verify();
    }

    /// <summary>The digest of this content for a signature of <paramref name="signatureType"/>, then <paramref name="trailer"/>.</summary>
    public byte[] Digest(int signatureType, HashAlgorithmName name, byte[] trailer)
    {
        if (Bytes is not null)
        {
            return PgpRsaSignature.Digest(signatureType, name, Bytes, trailer);
        }

        using var digest = new PgpRsaSignature.SignatureDigest(signatureType, name);
        using (var hashing = new WriteSink((buffer, offset, count) => digest.Append(buffer.AsSpan(offset, count))))
        {
            _write!(hashing);
        }

        return digest.Finish(trailer);
    }
}
