using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace RuleMail.Keys;

/// <summary>Everything read from the files of one import, before anything is written.</summary>
internal sealed class KeyMaterial
{
    public List<Sourced<X509Certificate2>> Certificates { get; } = [];

    /// <summary>RSA or ECDsa private keys, in memory only until re-encrypted under the store passphrase.</summary>
    public List<Sourced<AsymmetricAlgorithm>> PrivateKeys { get; } = [];

    public List<Sourced<byte[]>> Crls { get; } = [];

    public List<Sourced<PgpPublicKeyRing>> PgpPublicRings { get; } = [];

    /// <summary>Secret key rings as read, still under the file's own passphrase (if any).</summary>
    public List<Sourced<PgpSecretKeyRing>> PgpSecretRings { get; } = [];

    /// <summary>Bare signatures, such as a revocation certificate from <c>gpg --gen-revoke</c>.</summary>
    public List<Sourced<PgpSignature>> PgpSignatures { get; } = [];

    public bool HasPrivateMaterial => PrivateKeys.Count > 0 || PgpSecretRings.Count > 0;
}

/// <summary>A value and the file it came from, for error messages.</summary>
internal readonly record struct Sourced<T>(string Source, T Value);
