using System.Security.Cryptography;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.IO;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace RuleMail.Crypto;

/// <summary>
/// Opens an RSA session-key packet (version 3, before a version 1 integrity-protected packet) with OpenSSL, then the
/// content with the session key through <see cref="PgpMdcStream"/>: what BouncyCastle's
/// <see cref="PgpPublicKeyEncryptedData.GetDataStream(PgpPrivateKey)"/> does, whose RSA step is its own C# RSA and which
/// takes no session key from outside. Every way the session key can be wrong ends as BouncyCastle ends it: a bad
/// PKCS#1 padding and a bad checksum are both "not this key", so neither tells an attacker more than before.
/// </summary>
internal static class PgpRsaSession
{
    /// <summary>
    /// The session-key packets of the message in order, when they pair one to one with BouncyCastle's
    /// <paramref name="encrypted"/> (same count, same key IDs); null when they do not, and BouncyCastle opens them all.
    /// </summary>
    /// <param name="message">The message from its start (armored or binary), seekable; read only as far as its session-key packets.</param>
    public static IReadOnlyList<PublicKeyEncSessionPacket>? Packets(Stream message, IReadOnlyList<PgpPublicKeyEncryptedData> encrypted)
    {
        ArgumentNullException.ThrowIfNull(encrypted);
        var packets = new List<PublicKeyEncSessionPacket>();
        try
        {
            var input = new BcpgInputStream(PgpUtilities.GetDecoderStream(message));
            while (true)
            {
                var tag = input.NextPacketTag();
                if (tag == PacketTag.PublicKeyEncryptedSession)
                {
                    packets.Add((PublicKeyEncSessionPacket)input.ReadPacket());
                }
                else if (tag is PacketTag.Marker or PacketTag.SymmetricKeyEncryptedSessionKey)
                {
                    _ = input.ReadPacket();
                }
                else
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or PgpException or InvalidCastException or ArgumentException)
        {
            return null;
        }

        if (packets.Count != encrypted.Count)
        {
            return null;
        }

        for (var i = 0; i < packets.Count; i++)
        {
            if (packets[i].KeyId != encrypted[i].KeyId)
            {
                return null;
            }
        }

        return packets;
    }

    /// <summary>
    /// Opens <paramref name="data"/> with <paramref name="privateKey"/> through OpenSSL. <see cref="Attempt.NotForOpenSsl"/>:
    /// not an RSA packet and key of this kind (BouncyCastle takes it); <see cref="Attempt.NotThisKey"/>: the key does not
    /// open it; otherwise the stream and the cipher.
    /// </summary>
    public static (Attempt Result, PgpMdcStream? Clear, SymmetricKeyAlgorithmTag Cipher) TryOpen(
        PgpPublicKeyEncryptedData data, PublicKeyEncSessionPacket packet, PgpPrivateKey privateKey)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(packet);
        ArgumentNullException.ThrowIfNull(privateKey);
        if (packet.Version != PublicKeyEncSessionPacket.Version3 || !PgpRsa.IsRsa(packet.Algorithm) || !data.IsIntegrityProtected()
            || PgpRsa.Private(privateKey) is not { } rsa)
        {
            return (Attempt.NotForOpenSsl, null, default);
        }

        var session = Decrypt(rsa, packet);
        if (session is null)
        {
            return (Attempt.NotThisKey, null, default);
        }

        try
        {
            if (!ChecksumHolds(session))
            {
                return (Attempt.NotThisKey, null, default);
            }

            var cipher = (SymmetricKeyAlgorithmTag)session[0];
            if (cipher == SymmetricKeyAlgorithmTag.Null)
            {
                // No cipher at all: an oddity BouncyCastle handles its own way; it stays with it.
                return (Attempt.NotForOpenSsl, null, default);
            }

            var clear = Open(data, cipher, session);
            return clear is null ? (Attempt.NotThisKey, null, default) : (Attempt.Opened, clear, cipher);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(session);
        }
    }

    /// <summary>The PKCS#1 v1.5 decryption of the packet's MPI, or null when OpenSSL refuses it (bad padding, out of range).</summary>
    private static byte[]? Decrypt(RSA rsa, PublicKeyEncSessionPacket packet)
    {
        var encoded = packet.GetEncSessionKey();
        if (encoded.Length != 1 || encoded[0].Length < 2)
        {
            return null;
        }

        // The MPI as the packet holds it: two bytes of bit count, then the value with its leading zeros stripped.
        var input = PgpRsa.LeftPadded(encoded[0].AsSpan(2), PgpRsa.ModulusBytes(rsa));
        if (input is null)
        {
            return null;
        }

        PgpRsa.Counted();
        try
        {
            return rsa.Decrypt(input, RSAEncryptionPadding.Pkcs1);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>The cipher byte, the key, and a two-byte sum of the key's bytes (RFC 4880 section 5.1).</summary>
    private static bool ChecksumHolds(byte[] session)
    {
        if (session.Length < 4)
        {
            return false;
        }

        var sum = 0;
        for (var i = 1; i < session.Length - 2; i++)
        {
            sum += session[i];
        }

        return session[^2] == (byte)(sum >> 8) && session[^1] == (byte)sum;
    }

    /// <summary>
    /// The decrypting stream over the packet's content (CFB with a zero IV, no resynchronisation), its prefix read; null when
    /// the cipher cannot be set up with this key or the content is too short for the prefix, as BouncyCastle counts both as
    /// a key that does not fit.
    /// </summary>
    private static PgpMdcStream? Open(PgpPublicKeyEncryptedData data, SymmetricKeyAlgorithmTag algorithm, byte[] session)
    {
        IBufferedCipher cipher;
        try
        {
            var name = PgpUtilities.GetSymmetricCipherName(algorithm);
            cipher = CipherUtilities.GetCipher(name + "/CFB/NoPadding");
            var key = ParameterUtilities.CreateKeyParameter(name, session, 1, session.Length - 3);
            cipher.Init(false, new ParametersWithIV(key, new byte[cipher.GetBlockSize()]));
        }
        catch (Exception e) when (e is PgpException or SecurityUtilityException or ArgumentException or InvalidOperationException)
        {
            return null;
        }

        try
        {
            return new PgpMdcStream(new CipherStream(data.GetInputStream(), cipher, null), cipher.GetBlockSize());
        }
        catch (IOException)
        {
            // Too short for the prefix, or armor that breaks there: BouncyCastle's "exception starting decryption".
            return null;
        }
    }

    /// <summary>What one private key did with one session-key packet.</summary>
    public enum Attempt
    {
        NotForOpenSsl,
        NotThisKey,
        Opened,
    }
}
