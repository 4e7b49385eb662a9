using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace RuleMail.Keys;

/// <summary>Opens private material kept encrypted at rest, with the store passphrase.</summary>
internal static class PrivateKeyOpener
{
    /// <summary>The certificate joined with its private key, for System.Security.Cryptography (OpenSSL).</summary>
    public static X509Certificate2 OpenSmime(KeyStoreFolder folder, SmimeCertificateEntry entry, KeyStorePassphrase passphrase)
    {
        var path = folder.SmimeKey(entry.Fingerprint);
        var content = KeyStoreFolder.ReadIfPresent(path)
            ?? throw new KeyStoreException($"{path}: the private key of {entry.Subject} is missing from the key store");
        byte[] pkcs8;
        try
        {
            pkcs8 = Pkcs8PrivateKeyInfo.DecryptAndDecode(passphrase.Value.AsSpan(), KeyStoreSnapshot.FromPem(content, "ENCRYPTED PRIVATE KEY"), out _).Encode();
        }
        catch (CryptographicException e)
        {
            throw new KeyStoreException($"{path}: the key store passphrase does not open this private key", e);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            // A truncated, emptied or overwritten file: name it, never an internal error.
            throw new KeyStoreException($"{path}: damaged key store file: {e.Message.TrimEnd('.')}", e);
        }

        var algorithm = Pkcs8PrivateKeyInfo.Decode(pkcs8, out _, skipCopy: true).AlgorithmId.Value;
        switch (algorithm)
        {
            case KeyAlgorithmOids.Rsa:
            {
                using var rsa = RSA.Create();
                rsa.ImportPkcs8PrivateKey(pkcs8, out _);
                return entry.Certificate.CopyWithPrivateKey(rsa);
            }

            case KeyAlgorithmOids.Ec:
            {
                using var ecdsa = ECDsa.Create();
                ecdsa.ImportPkcs8PrivateKey(pkcs8, out _);
                return entry.Certificate.CopyWithPrivateKey(ecdsa);
            }

            default:
                throw new KeyStoreException($"{path}: unsupported private key algorithm {algorithm}");
        }
    }

    /// <summary>The private part of one key of an OpenPGP entry.</summary>
    public static PgpPrivateKey OpenPgp(PgpKeyEntry entry, long keyId, KeyStorePassphrase passphrase)
    {
        var secret = entry.SecretRing?.GetSecretKey(keyId);
        if (secret is null || secret.IsPrivateKeyEmpty)
        {
            throw new KeyStoreException($"the key store holds no secret key {keyId:X16} of {entry.DisplayName}");
        }

        try
        {
            return secret.ExtractPrivateKeyRaw(passphrase.ToUtf8());
        }
        catch (PgpException e)
        {
            throw new KeyStoreException($"the key store passphrase does not open the secret key {keyId:X16} of {entry.DisplayName}", e);
        }
    }

    /// <summary>Fails when the store already holds private keys that <paramref name="passphrase"/> does not open.</summary>
    public static void CheckPassphrase(KeyStoreSnapshot snapshot, KeyStoreFolder folder, KeyStorePassphrase passphrase)
    {
        try
        {
            var certificate = snapshot.Certificates.FirstOrDefault(c => c.HasPrivateKey);
            if (certificate is not null)
            {
                OpenSmime(folder, certificate, passphrase).Dispose();
                return;
            }

            var pgp = snapshot.PgpKeys.FirstOrDefault(k => k.HasPrivateKey);
            var secret = pgp?.SecretRing?.GetSecretKeys().FirstOrDefault(k => !k.IsPrivateKeyEmpty);
            if (pgp is not null && secret is not null)
            {
                _ = OpenPgp(pgp, secret.KeyId, passphrase);
            }
        }
        catch (KeyStoreException e)
        {
            throw new KeyStoreException(
                $"{folder.Root}: {KeyStorePassphrase.EnvironmentVariable} does not open the private keys already in the key store (wrong passphrase?)", e);
        }
    }
}
