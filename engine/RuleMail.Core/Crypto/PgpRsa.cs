using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Crypto.Parameters;

namespace RuleMail.Crypto;

/// <summary>
/// The OpenSSL side of OpenPGP RSA: a BouncyCastle key turned into a .NET <see cref="RSA"/> (OpenSSL on Linux) once,
/// and kept for exactly as long as the BouncyCastle key object lives. BouncyCastle re-checks the modulus with a
/// Miller-Rabin test every time <see cref="PgpPublicKey.GetKey"/> is called (once per signature check or encryption)
/// and its C# RSA is many times slower than OpenSSL's; packets are still read and written by BouncyCastle.
/// </summary>
/// <remarks>
/// The caches are keyed by the key objects themselves (<see cref="ConditionalWeakTable{TKey,TValue}"/>), never by an ID:
/// a public key belongs to one key store snapshot, and a private key to the key store's cache of opened keys, which drops
/// it when the key is removed or replaced. So a new snapshot gets fresh objects, and a revoked or removed key cannot be
/// handed back by this cache. Thread-safe: the table is, and an OpenSSL RSA key serves concurrent operations (each one
/// gets its own context; blinding is locked inside OpenSSL).
/// </remarks>
internal static class PgpRsa
{
    private static readonly ConditionalWeakTable<PgpPublicKey, RsaHolder> PublicKeys = [];
    private static readonly ConditionalWeakTable<PgpPrivateKey, RsaHolder> PrivateKeys = [];

    [ThreadStatic]
    private static int _operations;

    /// <summary>
    /// How many RSA operations this thread has done through OpenSSL (not BouncyCastle) so far. Lets a test prove the fast
    /// path ran, not a silent fallback to BouncyCastle's RSA; per thread, so tests running in parallel do not mix.
    /// </summary>
    public static int OperationsOnThisThread => _operations;

    public static bool IsRsa(PublicKeyAlgorithmTag algorithm) =>
        algorithm is PublicKeyAlgorithmTag.RsaGeneral or PublicKeyAlgorithmTag.RsaSign or PublicKeyAlgorithmTag.RsaEncrypt;

    /// <summary>The OpenSSL key for an RSA public key, converted once; null for another algorithm or a key OpenSSL will not take.</summary>
    public static RSA? Public(PgpPublicKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return IsRsa(key.Algorithm) ? PublicKeys.GetValue(key, ImportPublic).Rsa : null;
    }

    /// <summary>The OpenSSL key for an opened RSA private key (with its CRT values), converted once; null otherwise.</summary>
    public static RSA? Private(PgpPrivateKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.Key is RsaPrivateCrtKeyParameters ? PrivateKeys.GetValue(key, ImportPrivate).Rsa : null;
    }

    /// <summary>Counts one RSA operation done through OpenSSL on this thread (see <see cref="OperationsOnThisThread"/>).</summary>
    public static void Counted() => _operations++;

    /// <summary>The modulus length in bytes: what an RSA input or output is left-padded to.</summary>
    public static int ModulusBytes(RSA rsa) => (rsa.KeySize + 7) / 8;

    /// <summary>
    /// <paramref name="value"/> (an MPI's value, leading zeros stripped as OpenPGP writes them) left-padded to
    /// <paramref name="length"/> bytes; null when it is longer, which no valid input for this key is.
    /// </summary>
    public static byte[]? LeftPadded(ReadOnlySpan<byte> value, int length)
    {
        while (value.Length > 0 && value[0] == 0)
        {
            value = value[1..];
        }

        if (value.Length > length)
        {
            return null;
        }

        var padded = new byte[length];
        value.CopyTo(padded.AsSpan(length - value.Length));
        return padded;
    }

    private static RsaHolder ImportPublic(PgpPublicKey key)
    {
        if (key.PublicKeyPacket.Key is not RsaPublicBcpgKey rsaKey)
        {
            return new RsaHolder(null);
        }

        return Imported(new RSAParameters
        {
            Modulus = rsaKey.Modulus.ToByteArrayUnsigned(),
            Exponent = rsaKey.PublicExponent.ToByteArrayUnsigned(),
        });
    }

    private static RsaHolder ImportPrivate(PgpPrivateKey key)
    {
        var crt = (RsaPrivateCrtKeyParameters)key.Key;
        var modulus = crt.Modulus.ToByteArrayUnsigned();
        var half = (modulus.Length + 1) / 2;
        byte[]? Part(Org.BouncyCastle.Math.BigInteger value, int length) => LeftPadded(value.ToByteArrayUnsigned(), length);
        var parameters = new RSAParameters
        {
            Modulus = modulus,
            Exponent = crt.PublicExponent.ToByteArrayUnsigned(),
            D = Part(crt.Exponent, modulus.Length),
            P = Part(crt.P, half),
            Q = Part(crt.Q, half),
            DP = Part(crt.DP, half),
            DQ = Part(crt.DQ, half),
            InverseQ = Part(crt.QInv, half),
        };
        try
        {
            // Primes of unequal length do not fit .NET's layout: such a key stays with BouncyCastle.
            return parameters.D is null || parameters.P is null || parameters.Q is null || parameters.DP is null
                   || parameters.DQ is null || parameters.InverseQ is null
                ? new RsaHolder(null)
                : Imported(parameters);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(parameters.D);
            CryptographicOperations.ZeroMemory(parameters.P);
            CryptographicOperations.ZeroMemory(parameters.Q);
            CryptographicOperations.ZeroMemory(parameters.DP);
            CryptographicOperations.ZeroMemory(parameters.DQ);
            CryptographicOperations.ZeroMemory(parameters.InverseQ);
        }
    }

    private static RsaHolder Imported(RSAParameters parameters)
    {
        var rsa = RSA.Create();
        try
        {
            rsa.ImportParameters(parameters);
            return new RsaHolder(rsa);
        }
        catch (CryptographicException)
        {
            // A key OpenSSL refuses is left to BouncyCastle, which judges it as it always did.
            rsa.Dispose();
            return new RsaHolder(null);
        }
    }

    /// <summary>The table's value: the key, or null remembered for a key that stays with BouncyCastle.</summary>
    private sealed record RsaHolder(RSA? Rsa);
}
