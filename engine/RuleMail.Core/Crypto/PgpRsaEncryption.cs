using System.Security.Cryptography;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace RuleMail.Crypto;

/// <summary>
/// An encrypted OpenPGP message to RSA recipients only, the session key wrapped by OpenSSL: a version 3 session-key
/// packet per recipient (PKCS#1 v1.5, as RFC 4880 section 5.1 and every OpenPGP implementation use), then one version 1
/// integrity-protected packet (AES-256 in CFB with a zero IV, random prefix, MDC: section 5.13) written by
/// <see cref="Open"/>. BouncyCastle's <see cref="PgpEncryptedDataGenerator"/> takes no session key from outside and
/// rebuilds (and re-checks) every recipient's RSA key per message, so for all-RSA recipients this writes what it would;
/// packets are still encoded by BouncyCastle. Any other recipient key leaves the whole message to BouncyCastle.
/// </summary>
internal sealed class PgpRsaEncryption
{
    private const SymmetricKeyAlgorithmTag Cipher = SymmetricKeyAlgorithmTag.Aes256;

    private readonly List<(PgpPublicKey Key, RSA Rsa)> _recipients;

    private PgpRsaEncryption(List<(PgpPublicKey Key, RSA Rsa)> recipients) => _recipients = recipients;

    /// <summary>The encryption for these recipients, or null when one of them is not an RSA key OpenSSL takes.</summary>
    public static PgpRsaEncryption? For(IReadOnlyList<PgpPublicKey> recipients)
    {
        ArgumentNullException.ThrowIfNull(recipients);
        var keys = new List<(PgpPublicKey, RSA)>();
        foreach (var key in recipients)
        {
            if (key.PublicKeyPacket.Version != PublicKeyPacket.Version4 || PgpRsa.Public(key) is not { } rsa)
            {
                return null;
            }

            keys.Add((key, rsa));
        }

        return keys.Count > 0 ? new PgpRsaEncryption(keys) : null;
    }

    /// <summary>
    /// Writes the session-key packets and the header of the encrypted packet to <paramref name="output"/>; what is written
    /// to the returned stream is encrypted into it, and disposing that stream writes the MDC and ends the packet (it does
    /// not close <paramref name="output"/>).
    /// </summary>
    public Stream Open(Stream output, byte[] buffer)
    {
        ArgumentNullException.ThrowIfNull(output);
        var sessionKey = RandomNumberGenerator.GetBytes(32);
        try
        {
            var packets = new BcpgOutputStream(output);
            var info = SessionInfo(sessionKey);
            try
            {
                foreach (var (key, rsa) in _recipients)
                {
                    var wrapped = rsa.Encrypt(info, RSAEncryptionPadding.Pkcs1);
                    PgpRsa.Counted();
                    var mpi = new MPInteger(new Org.BouncyCastle.Math.BigInteger(1, wrapped)).GetEncoded();
                    packets.WritePacket(new PublicKeyEncSessionPacket(key.KeyId, key.Algorithm, [mpi]));
                }
            }
            finally
            {
                CryptographicOperations.ZeroMemory(info);
            }

            var cipher = CipherUtilities.GetCipher(PgpUtilities.GetSymmetricCipherName(Cipher) + "/CFB/NoPadding");
            cipher.Init(true, new ParametersWithIV(ParameterUtilities.CreateKeyParameter("AES", sessionKey), new byte[cipher.GetBlockSize()]));
            return new MdcWriter(new BcpgOutputStream(output, PacketTag.SymmetricEncryptedIntegrityProtected, buffer), cipher);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sessionKey);
        }
    }

    /// <summary>The cipher's number, the key, and the two-byte sum of the key's bytes.</summary>
    private static byte[] SessionInfo(byte[] sessionKey)
    {
        var info = new byte[sessionKey.Length + 3];
        info[0] = (byte)Cipher;
        sessionKey.CopyTo(info, 1);
        var sum = 0;
        foreach (var b in sessionKey)
        {
            sum += b;
        }

        info[^2] = (byte)(sum >> 8);
        info[^1] = (byte)sum;
        return info;
    }

    /// <summary>The packet body: version 1, then prefix, content and MDC packet, all encrypted; the SHA-1 runs over the plaintext.</summary>
    private sealed class MdcWriter : Stream
    {
        private readonly BcpgOutputStream _packet;
        private readonly IBufferedCipher _cipher;
        private readonly IncrementalHash _sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        private bool _done;

        public MdcWriter(BcpgOutputStream packet, IBufferedCipher cipher)
        {
            _packet = packet;
            _cipher = cipher;
            packet.WriteByte(1);

            // A random block and its last two bytes again (the check bytes readers may use to spot a wrong key at once).
            var blockSize = cipher.GetBlockSize();
            var prefix = new byte[blockSize + 2];
            RandomNumberGenerator.Fill(prefix.AsSpan(0, blockSize));
            prefix[blockSize] = prefix[blockSize - 2];
            prefix[blockSize + 1] = prefix[blockSize - 1];
            Encrypt(prefix);
        }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer) => Encrypt(buffer);

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_done)
            {
                _done = true;
                Encrypt([0xD3, 0x14]);
                Span<byte> digest = stackalloc byte[20];
                _sha1.GetHashAndReset(digest);
                var encrypted = _cipher.DoFinal(digest.ToArray());
                _packet.Write(encrypted);

                // Ends the packet's partial lengths; the output under it stays open for the armor.
                _packet.Finish();
                _sha1.Dispose();
            }

            base.Dispose(disposing);
        }

        private void Encrypt(ReadOnlySpan<byte> plain)
        {
            _sha1.AppendData(plain);
            var encrypted = _cipher.ProcessBytes(plain.ToArray());
            if (encrypted is { Length: > 0 })
            {
                _packet.Write(encrypted);
            }
        }
    }
}
