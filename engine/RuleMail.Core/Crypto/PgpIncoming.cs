using System.Globalization;
using System.Text;
using Org.BouncyCastle.Bcpg.OpenPgp;
using RuleMail.Keys;

namespace RuleMail.Crypto;

/// <summary>
/// OpenPGP decryption and verification on BouncyCastle, with the store's keys. Integrity is enforced
/// here, not trusted to the library: a message without MDC/AEAD is refused before decryption, and
/// plaintext whose check fails is wiped and never returned (EFAIL).
/// </summary>
internal sealed class PgpIncoming(KeyStore store, SecurityPolicy policy)
{
    public PgpDecryption Decrypt(byte[] message, IReadOnlyList<string> preferred, IReadOnlyList<string> senders)
    {
        try
        {
            var list = EncryptedDataList(message);
            if (list is null)
            {
                return new(SecurityOutcome.Failed(SecurityComments.Malformed("the OpenPGP part holds no encrypted message")), null, null);
            }

            var encrypted = list.GetEncryptedDataObjects().OfType<PgpPublicKeyEncryptedData>().ToList();
            if (encrypted.Count == 0)
            {
                return new(SecurityOutcome.Failed(SecurityComments.Unsupported("an OpenPGP message encrypted with a password, not a key")), null, null);
            }

            var candidates = Candidates(preferred).ToList();
            foreach (var (entry, keyId) in candidates)
            {
                var match = encrypted.FirstOrDefault(e => e.KeyId == keyId);
                if (match is not null)
                {
                    return Open(match, entry, keyId, senders);
                }
            }

            // Hidden recipients (key ID 0): try every key until one opens the session key.
            foreach (var hidden in encrypted.Where(e => e.KeyId == 0))
            {
                foreach (var (entry, keyId) in candidates)
                {
                    var result = Open(hidden, entry, keyId, senders);
                    if (result.Encryption.Success || result.Plaintext is not null || result.Encryption.Comment != SessionKeyRefused)
                    {
                        return result;
                    }
                }
            }

            return new(SecurityOutcome.Failed(SecurityComments.PrivateKeyNotFound), null, null);
        }
        catch (Exception e) when (e is PgpException or IOException)
        {
            return new(SecurityOutcome.Failed(SecurityComments.Malformed($"the OpenPGP message cannot be read ({Describe(e)})")), null, null);
        }
        catch (KeyStoreException e)
        {
            return new(SecurityOutcome.Failed(SecurityComments.PrivateKeyUnavailable(e.Message)), null, null);
        }
    }

    /// <summary>Verifies a detached signature (RFC 3156 multipart/signed) over <paramref name="content"/>.</summary>
    public SecurityOutcome VerifyDetached(byte[] content, byte[] signature, IReadOnlyList<string> senders)
    {
        PgpSignatureList? signatures;
        try
        {
            signatures = ReadSignatures(signature);
        }
        catch (Exception e) when (e is PgpException or IOException)
        {
            return SecurityOutcome.Failed(SecurityComments.Malformed($"the OpenPGP signature cannot be read ({Describe(e)})"));
        }

        if (signatures is null || signatures.Count == 0)
        {
            return SecurityOutcome.Failed(SecurityComments.NoSigner);
        }

        SecurityOutcome? firstFailure = null;
        for (var i = 0; i < Math.Min(signatures.Count, policy.MaxSignatures); i++)
        {
            var one = signatures[i];
            var outcome = Judge(one.KeyId, key =>
            {
                one.InitVerify(key);
                one.Update(content);
                return one.Verify();
            }, senders);
            if (outcome.Success)
            {
                return outcome;
            }

            firstFailure ??= outcome;
        }

        return firstFailure!;
    }

    /// <summary>Verifies a cleartext-signed block (RFC 4880 section 7) that is the whole text.</summary>
    public SecurityOutcome VerifyClearSigned(ClearSignedText block, IReadOnlyList<string> senders) =>
        VerifyDetached(block.SignedBytes, Encoding.ASCII.GetBytes(block.SignatureArmor), senders);

    private const string SessionKeyRefused = "session key refused";

    private PgpDecryption Open(PgpPublicKeyEncryptedData data, PgpKeyEntry entry, long keyId, IReadOnlyList<string> senders)
    {
        if (!data.IsIntegrityProtected())
        {
            return new(SecurityOutcome.Failed(SecurityComments.NoIntegrityProtection), null, null);
        }

        var privateKey = store.OpenPrivateKey(entry, keyId);
        Stream clear;
        try
        {
            clear = data.GetDataStream(privateKey);
        }
        catch (PgpException)
        {
            return new(SecurityOutcome.Failed(SessionKeyRefused), null, null);
        }

        byte[]? literal = null;
        PgpOnePassSignatureList? onePass = null;
        PgpSignatureList? signatures = null;
        try
        {
            var factory = new PgpObjectFactory(clear);
            for (var item = factory.NextPgpObject(); item is not null; item = factory.NextPgpObject())
            {
                switch (item)
                {
                    case PgpCompressedData compressed:
                        factory = new PgpObjectFactory(compressed.GetDataStream());
                        break;
                    case PgpOnePassSignatureList list:
                        onePass = list;
                        break;
                    case PgpLiteralData data2:
                        using (var buffer = new MemoryStream())
                        {
                            data2.GetInputStream().CopyTo(buffer);
                            literal = buffer.ToArray();
                        }

                        break;
                    case PgpSignatureList list:
                        signatures = list;
                        break;
                }
            }

            clear.CopyTo(Stream.Null);
            if (!data.Verify())
            {
                return Refuse(literal);
            }
        }
        catch (Exception e) when (e is PgpException or IOException or InvalidOperationException or ArgumentException
                                      or Org.BouncyCastle.Crypto.CryptoException or IndexOutOfRangeException)
        {
            // With integrity protection on, damage that breaks the decoding is an integrity failure too.
            return Refuse(literal);
        }

        if (literal is null)
        {
            return new(SecurityOutcome.Failed(SecurityComments.Malformed("the OpenPGP message holds no data")), null, null);
        }

        var signature = signatures is null ? null : JudgeEmbedded(literal, onePass, signatures, senders);
        var recipient = entry.Addresses.Count > 0 ? entry.Addresses[0] : entry.DisplayName;
        return new(SecurityOutcome.Succeeded(SecurityComments.DecryptedFor(recipient, $"PGP key {entry.Fingerprint}")), literal, signature);
    }

    private static PgpDecryption Refuse(byte[]? literal)
    {
        if (literal is not null)
        {
            Array.Clear(literal);
        }

        return new(SecurityOutcome.Failed(SecurityComments.IntegrityCheckFailed), null, null);
    }

    private SecurityOutcome JudgeEmbedded(byte[] literal, PgpOnePassSignatureList? onePass, PgpSignatureList signatures, IReadOnlyList<string> senders)
    {
        SecurityOutcome? firstFailure = null;
        for (var i = 0; i < signatures.Count; i++)
        {
            var signature = signatures[i];
            PgpOnePassSignature? header = null;
            for (var j = 0; onePass is not null && j < onePass.Count; j++)
            {
                if (onePass[j].KeyId == signature.KeyId)
                {
                    header = onePass[j];
                }
            }

            var outcome = Judge(signature.KeyId, key =>
            {
                if (header is not null)
                {
                    header.InitVerify(key);
                    header.Update(literal);
                    return header.Verify(signature);
                }

                signature.InitVerify(key);
                signature.Update(literal);
                return signature.Verify();
            }, senders);
            if (outcome.Success)
            {
                return outcome;
            }

            firstFailure ??= outcome;
        }

        return firstFailure ?? SecurityOutcome.Failed(SecurityComments.NoSigner);
    }

    /// <summary>Judges one signature by key ID: the key must be in the store, the signature must match, the key must be valid now and be the sender's.</summary>
    private SecurityOutcome Judge(long keyId, Func<PgpPublicKey, bool> verify, IReadOnlyList<string> senders)
    {
        var keyIdText = keyId.ToString("X16", CultureInfo.InvariantCulture);
        var entry = store.PgpKeys.FirstOrDefault(k => k.Keys.Any(s => s.KeyId == keyIdText));
        var publicKey = entry?.PublicRing.GetPublicKey(keyId);
        if (entry is null || publicKey is null)
        {
            return SecurityOutcome.Failed(SecurityComments.CertificateNotFound);
        }

        bool valid;
        try
        {
            valid = verify(publicKey);
        }
        catch (Exception e) when (e is PgpException or InvalidOperationException or ArgumentException)
        {
            valid = false;
        }

        if (!valid)
        {
            return SecurityOutcome.Failed(SecurityComments.Tampered);
        }

        var now = store.Time.GetUtcNow();
        var subkey = entry.Keys.First(s => s.KeyId == keyIdText);
        var revokedAt = entry.RevokedAt ?? subkey.RevokedAt;
        if (revokedAt is { } revoked && revoked <= now)
        {
            return SecurityOutcome.Failed(SecurityComments.KeyRevoked(revoked));
        }

        if (now < entry.NotBefore || now < subkey.Created)
        {
            return SecurityOutcome.Failed(SecurityComments.KeyNotYetValid(subkey.Created > entry.NotBefore ? subkey.Created : entry.NotBefore));
        }

        var expires = new[] { entry.NotAfter, subkey.Expires }.Where(d => d is not null).Min();
        if (expires is { } expired && now > expired)
        {
            return SecurityOutcome.Failed(SecurityComments.KeyExpired(expired));
        }

        if (!subkey.Usages.HasFlag(KeyUsages.Sign))
        {
            return SecurityOutcome.Failed(SecurityComments.KeyNotForSigning(subkey.Fingerprint));
        }

        var sender = senders.FirstOrDefault(s => entry.Addresses.Contains(s) ||
                                                 (entry.DomainAlias is not null && MailAddresses.Domain(s) == entry.DomainAlias));
        if (sender is null)
        {
            return SecurityOutcome.Failed(SecurityComments.NotSignedBySender(entry.DisplayName, senders.Count > 0 ? senders[0] : null));
        }

        return SecurityOutcome.Succeeded(SecurityComments.SignedBy(sender, $"PGP key {entry.Fingerprint}"));
    }

    /// <summary>Secret keys: those of the preferred addresses first, then every other; expired keys still open old mail.</summary>
    private IEnumerable<(PgpKeyEntry Entry, long KeyId)> Candidates(IReadOnlyList<string> preferred)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var entries = preferred.SelectMany(store.FindPgp).Concat(store.PgpKeys).Where(e => e.HasPrivateKey);
        foreach (var entry in entries)
        {
            if (!seen.Add(entry.Fingerprint))
            {
                continue;
            }

            foreach (var key in entry.Keys.Where(k => k.HasSecretKey).OrderByDescending(k => k.Usages.HasFlag(KeyUsages.Encrypt)))
            {
                yield return (entry, long.Parse(key.KeyId, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            }
        }
    }

    private static PgpEncryptedDataList? EncryptedDataList(byte[] message)
    {
        var factory = new PgpObjectFactory(PgpUtilities.GetDecoderStream(new MemoryStream(message, writable: false)));
        for (var item = factory.NextPgpObject(); item is not null; item = factory.NextPgpObject())
        {
            if (item is PgpEncryptedDataList list)
            {
                return list;
            }

            if (item is not PgpMarker)
            {
                return null;
            }
        }

        return null;
    }

    private static PgpSignatureList? ReadSignatures(byte[] signature)
    {
        var factory = new PgpObjectFactory(PgpUtilities.GetDecoderStream(new MemoryStream(signature, writable: false)));
        for (var item = factory.NextPgpObject(); item is not null; item = factory.NextPgpObject())
        {
            switch (item)
            {
                case PgpSignatureList list:
                    return list;
                case PgpCompressedData compressed:
                    factory = new PgpObjectFactory(compressed.GetDataStream());
                    break;
                case PgpMarker:
                    break;
                default:
                    return null;
            }
        }

        return null;
    }

    private static string Describe(Exception e) => e.Message.Split('\n')[0].TrimEnd('.');
}
