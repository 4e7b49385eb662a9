using System.Security.Cryptography;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace RuleMail.Crypto;

/// <summary>
/// RSA signatures (version 3 and 4) checked through OpenSSL: the digest is computed here over what BouncyCastle hashes
/// for the same signature — the content (line endings made CRLF for a canonical-text signature, as
/// <see cref="PgpSignature.Update(byte[])"/> does), then the signature's own trailer from BouncyCastle (type, hashed
/// subpackets, length) — and only the RSA step is OpenSSL's. The digest's left 16 bits, which the packet carries in
/// clear, must match too (BouncyCastle does not compare them; gpg does).
/// </summary>
internal static class PgpRsaSignature
{
    private static readonly byte[] CrLf = [(byte)'\r', (byte)'\n'];

    /// <summary>
    /// Whether <paramref name="signature"/> by <paramref name="key"/> holds over <paramref name="content"/>; null when this
    /// signature is not one for OpenSSL (not RSA, another packet version or digest), so BouncyCastle checks it as before.
    /// </summary>
    public static bool? Verify(PgpSignature signature, PgpPublicKey key, ReadOnlySpan<byte> content)
    {
        ArgumentNullException.ThrowIfNull(signature);
        ArgumentNullException.ThrowIfNull(key);
        if (!ForOpenSsl(signature, key, out var name, out var rsa))
        {
            return null;
        }

        return Holds(signature, rsa, name, Digest(signature, name, content));
    }

    /// <summary>As <see cref="Verify(PgpSignature, PgpPublicKey, ReadOnlySpan{byte})"/>, over content in memory or written out in pieces.</summary>
    public static bool? Verify(PgpSignature signature, PgpPublicKey key, PgpSignedContent content)
    {
        ArgumentNullException.ThrowIfNull(signature);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(content);
        if (content.Bytes is { } bytes)
        {
            return Verify(signature, key, bytes);
        }

        if (!ForOpenSsl(signature, key, out var name, out var rsa))
        {
            return null;
        }

        return Holds(signature, rsa, name, content.Digest(signature.SignatureType, name, signature.GetSignatureTrailer()));
    }

    /// <summary>Whether OpenSSL checks this signature: RSA, packet version 3 or 4, a digest it knows, a key it took.</summary>
    private static bool ForOpenSsl(PgpSignature signature, PgpPublicKey key, out HashAlgorithmName name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RSA? rsa)
    {
        name = default;
        rsa = null;
        if (!PgpRsa.IsRsa(signature.KeyAlgorithm) || signature.Version is not (3 or 4) || HashName(signature.HashAlgorithm) is not { } known)
        {
            return false;
        }

        name = known;
        rsa = PgpRsa.Public(key);
        return rsa is not null;
    }

    /// <summary>The RSA step over a computed digest: its clear 16-bit prefix must match, then OpenSSL checks the value.</summary>
    private static bool Holds(PgpSignature signature, RSA rsa, HashAlgorithmName name, byte[] digest)
    {
        var prefix = signature.GetDigestPrefix();
        if (prefix is null || prefix.Length != 2 || prefix[0] != digest[0] || prefix[1] != digest[1])
        {
            return false;
        }

        var value = PgpRsa.LeftPadded(signature.GetSignature(), PgpRsa.ModulusBytes(rsa));
        if (value is null)
        {
            return false;
        }

        PgpRsa.Counted();
        try
        {
            return rsa.VerifyHash(digest, value, name, RSASignaturePadding.Pkcs1);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>The .NET name of an OpenPGP digest that OpenSSL signs and checks here; null for the rest (left to BouncyCastle).</summary>
    public static HashAlgorithmName? HashName(HashAlgorithmTag digest) => digest switch
    {
        HashAlgorithmTag.Sha1 => HashAlgorithmName.SHA1,
        HashAlgorithmTag.Sha256 => HashAlgorithmName.SHA256,
        HashAlgorithmTag.Sha384 => HashAlgorithmName.SHA384,
        HashAlgorithmTag.Sha512 => HashAlgorithmName.SHA512,
        _ => null,
    };

    /// <summary>The digest a signature of this type signs: the content as the signature type wants it, then <paramref name="trailer"/>.</summary>
    public static byte[] Digest(int signatureType, HashAlgorithmName name, ReadOnlySpan<byte> content, ReadOnlySpan<byte> trailer)
    {
        using var digest = new SignatureDigest(signatureType, name);
        digest.Append(content);
        return digest.Finish(trailer);
    }

    private static byte[] Digest(PgpSignature signature, HashAlgorithmName name, ReadOnlySpan<byte> content) =>
        Digest(signature.SignatureType, name, content, signature.GetSignatureTrailer());

    /// <summary>
    /// Every CR, every LF and every CR LF becomes CR LF (a lone CR too), byte for byte as BouncyCastle canonicalizes;
    /// <paramref name="last"/> carries the byte before <paramref name="content"/> when content comes in pieces (0 at the start).
    /// </summary>
    private static void AppendCanonical(IncrementalHash hash, ReadOnlySpan<byte> content, ref byte last)
    {
        var start = 0;
        for (var i = 0; i < content.Length; i++)
        {
            var b = content[i];
            if (b == '\r' || b == '\n')
            {
                hash.AppendData(content[start..i]);
                if (b == '\r' || last != '\r')
                {
                    hash.AppendData(CrLf);
                }

                start = i + 1;
            }

            last = b;
        }

        hash.AppendData(content[start..]);
    }

    /// <summary>
    /// The digest a signature of one type signs, over content given whole or in pieces: the content as the signature type
    /// wants it (a canonical-text signature's line endings carried across pieces), then the trailer.
    /// </summary>
    internal sealed class SignatureDigest(int signatureType, HashAlgorithmName name) : IDisposable
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(name);
        private readonly bool _canonical = signatureType == PgpSignature.CanonicalTextDocument;
        private byte _last;

        public void Append(ReadOnlySpan<byte> content)
        {
            if (_canonical)
            {
                AppendCanonical(_hash, content, ref _last);
            }
            else
            {
                _hash.AppendData(content);
            }
        }

        public byte[] Finish(ReadOnlySpan<byte> trailer)
        {
            _hash.AppendData(trailer);
            return _hash.GetHashAndReset();
        }

        public void Dispose() => _hash.Dispose();
    }
}
