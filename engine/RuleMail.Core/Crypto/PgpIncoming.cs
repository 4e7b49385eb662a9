using System.Globalization;
using System.Text;
using MimeKit.IO;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Crypto;
using RuleMail.Keys;

namespace RuleMail.Crypto;

/// <summary>
/// OpenPGP decryption and verification on BouncyCastle, with the store's keys. Integrity is enforced
/// here, not trusted to the library: a message without MDC/AEAD is refused before decryption, and
/// plaintext whose check fails is wiped and never returned (EFAIL). What a message may cost is bounded by
/// the policy: compressed data is inflated through <see cref="PgpInflation"/>, signatures and private-key
/// attempts are counted, and every limit that is hit is a failure with its own comment.
/// </summary>
internal sealed class PgpIncoming(KeyStore store, SecurityPolicy policy)
{
    /// <summary>
    /// The most a detached or cleartext signature's compressed data may inflate to: signatures are small, and every
    /// inflated byte could become a parsed signature object before the count of them is known.
    /// </summary>
    private const long SignatureBytesEach = 64 * 1024;

    public PgpDecryption Decrypt(byte[] message, IReadOnlyList<string> preferred, IReadOnlyList<string> senders) =>
        Decrypt(() => new MemoryStream(message, writable: false), null, preferred, senders);

    /// <summary>
    /// Decrypts a large message read in place from <paramref name="message"/> (seekable, armored or binary; not closed): the
    /// literal data goes to <paramref name="plaintext"/> as it is decrypted and inflated, and embedded signatures are hashed
    /// from there. Everything is judged as <see cref="Decrypt(byte[], IReadOnlyList{string}, IReadOnlyList{string})"/> judges it;
    /// on success <see cref="PgpDecryption.Plaintext"/> is null and the plaintext is the spool's, which is emptied whenever
    /// the outcome is a failure (the integrity check or a limit), so nothing unchecked is left to read.
    /// </summary>
    public PgpDecryption DecryptLarge(Stream message, Spool plaintext, IReadOnlyList<string> preferred, IReadOnlyList<string> senders)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(plaintext);

        // Each reader gets its own window on the message: MimeKit's bound stream seeks to its own position before every read.
        // BouncyCastle's armor and packet readers read byte by byte: buffered, that is a memory access, not a file read.
        var length = message.Length;
        return Decrypt(() => new BufferedStream(new BoundStream(message, 0, length, leaveOpen: true), 64 * 1024), plaintext, preferred, senders);
    }

    private PgpDecryption Decrypt(Func<Stream> open, Spool? spool, IReadOnlyList<string> preferred, IReadOnlyList<string> senders)
    {
        try
        {
            var list = EncryptedDataList(open());
            if (list is null)
            {
                return new(SecurityOutcome.Failed(SecurityComments.Malformed("the OpenPGP part holds no encrypted message")), null, null);
            }

            var encrypted = list.GetEncryptedDataObjects().OfType<PgpPublicKeyEncryptedData>().ToList();
            if (encrypted.Count == 0)
            {
                return new(SecurityOutcome.Failed(SecurityComments.Unsupported("an OpenPGP message encrypted with a password, not a key")), null, null);
            }

            // Every session-key packet of a message precedes the same encrypted data packet.
            if (!encrypted[0].IsIntegrityProtected())
            {
                return new(SecurityOutcome.Failed(SecurityComments.NoIntegrityProtection) with { Integrity = Integrity.None }, null, null);
            }

            return OpenWithStoreKeys(encrypted, PgpRsaSession.Packets(open(), encrypted), preferred, senders, spool);
        }
        catch (PgpLimitException e)
        {
            return new(SecurityOutcome.Failed(e.Message), null, null);
        }
        catch (Exception e) when (e is PgpException or IOException)
        {
            return new(SecurityOutcome.Failed(SecurityComments.Malformed($"the OpenPGP message cannot be read ({Describe(e)})")), null, null);
        }
    }

    /// <summary>Verifies a detached signature (RFC 3156 multipart/signed) over <paramref name="content"/>.</summary>
    public SecurityOutcome VerifyDetached(byte[] content, byte[] signature, IReadOnlyList<string> senders) =>
        VerifyDetached(PgpSignedContent.Of(content), signature, senders);

    /// <summary>As <see cref="VerifyDetached(byte[], byte[], IReadOnlyList{string})"/>, over content in memory or written out (a large entity).</summary>
    public SecurityOutcome VerifyDetached(PgpSignedContent content, byte[] signature, IReadOnlyList<string> senders)
    {
        PgpSignatureList? signatures;
        var inflation = new PgpInflation(policy, Math.Min(policy.MaxDecompressedBytes, policy.MaxSignatures * SignatureBytesEach));
        try
        {
            signatures = ReadSignatures(signature, inflation);
        }
        catch (Exception e) when (e is PgpException or IOException or InvalidOperationException or ArgumentException or IndexOutOfRangeException)
        {
            return SecurityOutcome.Failed(inflation.Refusal ?? SecurityComments.Malformed($"the OpenPGP signature cannot be read ({Describe(e)})"));
        }

        if (signatures is null || signatures.Count == 0)
        {
            return SecurityOutcome.Failed(SecurityComments.NoSigner);
        }

        if (signatures.Count > policy.MaxSignatures)
        {
            return SecurityOutcome.Failed(SecurityComments.TooManySignatures(signatures.Count, policy.MaxSignatures));
        }

        SecurityOutcome? firstFailure = null;
        for (var i = 0; i < signatures.Count; i++)
        {
            var one = signatures[i];
            var outcome = Judge(one, content, senders);
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

    /// <summary>
    /// Tries the store's secret keys on the message's session-key packets, at most <see cref="SecurityPolicy.MaxKeyAttempts"/>
    /// private-key operations in all: first the packets that name a key the store holds (a lookup, not a scan per key),
    /// then the anonymous ones (key ID 0), each against the keys in preference order.
    /// </summary>
    private PgpDecryption OpenWithStoreKeys(
        List<PgpPublicKeyEncryptedData> encrypted, IReadOnlyList<PublicKeyEncSessionPacket>? packets, IReadOnlyList<string> preferred, IReadOnlyList<string> senders,
        Spool? spool)
    {
        var candidates = Candidates(preferred).ToList();
        var byKeyId = encrypted.Select((data, i) => (Data: data, Packet: packets?[i])).ToLookup(e => e.Data.KeyId);
        var attempts = 0;
        foreach (var (entry, keyId) in candidates)
        {
            foreach (var match in byKeyId[keyId])
            {
                if (attempts++ == policy.MaxKeyAttempts)
                {
                    return new(SecurityOutcome.Failed(SecurityComments.TooManyKeyAttempts(policy.MaxKeyAttempts)), null, null);
                }

                if (TryOpen(match.Data, match.Packet, entry, keyId) is { } opened)
                {
                    return Read(opened.Clear, opened.Verify, opened.Cipher, entry, senders, spool);
                }
            }
        }

        // Hidden recipients: nothing tells which key a packet is for, so each one costs a private-key operation per key.
        foreach (var hidden in byKeyId[0])
        {
            foreach (var (entry, keyId) in candidates)
            {
                if (attempts++ == policy.MaxKeyAttempts)
                {
                    return new(SecurityOutcome.Failed(SecurityComments.TooManyKeyAttempts(policy.MaxKeyAttempts)), null, null);
                }

                if (TryOpen(hidden.Data, hidden.Packet, entry, keyId) is { } opened)
                {
                    return Read(opened.Clear, opened.Verify, opened.Cipher, entry, senders, spool);
                }
            }
        }

        return new(SecurityOutcome.Failed(SecurityComments.PrivateKeyNotFound), null, null);
    }

    /// <summary>
    /// The decrypting stream, its integrity check and the content cipher when the key opens the session key; null when it
    /// does not. An RSA packet is opened through OpenSSL (<see cref="PgpRsaSession"/>) when its raw packet is at hand.
    /// </summary>
    private (Stream Clear, Func<bool> Verify, SymmetricKeyAlgorithmTag Cipher)? TryOpen(
        PgpPublicKeyEncryptedData data, PublicKeyEncSessionPacket? packet, PgpKeyEntry entry, long keyId)
    {
        var privateKey = store.OpenPrivateKey(entry, keyId);
        try
        {
            if (packet is not null)
            {
                var (result, mdc, cipher) = PgpRsaSession.TryOpen(data, packet, privateKey);
                switch (result)
                {
                    case PgpRsaSession.Attempt.Opened:
                        return (mdc!, mdc!.Verify, cipher);
                    case PgpRsaSession.Attempt.NotThisKey:
                        return null;
                }
            }

            var clear = data.GetDataStream(privateKey);

            // BouncyCastle names the cipher only by decrypting the session key a second time; cheap next to reading the message.
            return (clear, data.Verify, data.GetSymmetricAlgorithm(privateKey));
        }
        // A key of another algorithm than the packet's fails inside BouncyCastle with a cast or index error: not this key either.
        catch (Exception e) when (e is PgpException or CryptoException or ArgumentException or InvalidOperationException
                                      or InvalidCastException or IndexOutOfRangeException or ArithmeticException)
        {
            return null;
        }
    }

    /// <summary>
    /// Reads the decrypted packets: compressed data through <see cref="PgpInflation"/>, the literal data into memory
    /// (bounded by the inflation limits, or by the message itself when it is not compressed), the signatures counted.
    /// The plaintext is handed out only after the MDC verified; a limit hit on the way discards it like a failed check.
    /// With a <paramref name="spool"/>, the literal data goes there instead of memory, under the same limits, and is
    /// emptied on every failure; nothing of it is hashed, parsed or returned before the check passed.
    /// </summary>
    private PgpDecryption Read(Stream clear, Func<bool> verify, SymmetricKeyAlgorithmTag cipher, PgpKeyEntry entry, IReadOnlyList<string> senders, Spool? spool)
    {
        using var owned = clear;
        var facts = new SecurityOutcome(false, string.Empty) { Cipher = PgpAlgorithms.CipherName(cipher), Integrity = Integrity.Mdc };
        var inflation = new PgpInflation(policy, policy.MaxDecompressedBytes);
        byte[]? literal = null;
        var spooled = false;
        var onePassCount = 0;
        var signatureCount = 0;
        var signatures = new List<PgpSignature>();
        try
        {
            var factory = new PgpObjectFactory(clear);
            for (var item = factory.NextPgpObject(); item is not null; item = factory.NextPgpObject())
            {
                switch (item)
                {
                    case PgpCompressedData compressed:
                        factory = new PgpObjectFactory(inflation.Open(compressed));
                        break;
                    case PgpOnePassSignatureList list:
                        onePassCount += list.Count;
                        break;
                    case PgpLiteralData data2 when spool is null:
                        Wipe(literal);
                        literal = ReadAll(data2.GetInputStream());
                        break;
                    case PgpLiteralData data2:
                        spool.Clear();
                        data2.GetInputStream().CopyTo(spool.Stream);
                        spooled = true;
                        break;
                    case PgpSignatureList list:
                        signatureCount += list.Count;
                        for (var i = 0; i < list.Count && signatures.Count < policy.MaxSignatures; i++)
                        {
                            signatures.Add(list[i]);
                        }

                        break;
                }
            }

            clear.CopyTo(Stream.Null);
            if (!verify())
            {
                return Refuse(literal, spool, facts, SecurityComments.IntegrityCheckFailed);
            }
        }
        catch (Exception e) when (e is PgpException or IOException or InvalidOperationException or ArgumentException
                                      or CryptoException or IndexOutOfRangeException)
        {
            // A limit that was hit says why; with integrity protection on, any other damage that breaks the decoding is an integrity failure.
            return Refuse(literal, spool, facts, inflation.Refusal ?? SecurityComments.IntegrityCheckFailed);
        }

        if (literal is null && !spooled)
        {
            return new(facts with { Comment = SecurityComments.Malformed("the OpenPGP message holds no data") }, null, null);
        }

        SecurityOutcome? signature = null;
        if (Math.Max(signatureCount, onePassCount) > policy.MaxSignatures)
        {
            signature = SecurityOutcome.Failed(SecurityComments.TooManySignatures(Math.Max(signatureCount, onePassCount), policy.MaxSignatures));
        }
        else if (signatures.Count > 0)
        {
            signature = JudgeEmbedded(literal is not null ? PgpSignedContent.Of(literal) : PgpSignedContent.OfSpool(spool!), signatures, senders);
        }

        var recipient = entry.Addresses.Count > 0 ? entry.Addresses[0] : entry.DisplayName;
        var detail = PgpAlgorithms.LegacyCipherLabel(cipher) is { } legacy
            ? $"PGP key {entry.Fingerprint}; legacy cipher {legacy}"
            : $"PGP key {entry.Fingerprint}";
        return new(facts with { Success = true, Comment = SecurityComments.DecryptedFor(recipient, detail) }, literal, signature);
    }

    private static PgpDecryption Refuse(byte[]? literal, Spool? spool, SecurityOutcome facts, string comment)
    {
        Wipe(literal);
        spool?.Clear();
        return new(facts with { Comment = comment }, null, null);
    }

    private static void Wipe(byte[]? plaintext)
    {
        if (plaintext is not null)
        {
            Array.Clear(plaintext);
        }
    }

    /// <summary>
    /// The literal data as one array of exactly its size, read in chunks that grow to 4 MB: a growing MemoryStream
    /// would allocate about three times the content (its doublings and the final copy), these chunks about twice.
    /// </summary>
    private static byte[] ReadAll(Stream input)
    {
        var chunks = new List<byte[]>();
        var size = 16 * 1024;
        long total = 0;
        while (true)
        {
            var chunk = new byte[size];
            var filled = 0;
            int read;
            while (filled < chunk.Length && (read = input.Read(chunk, filled, chunk.Length - filled)) > 0)
            {
                filled += read;
            }

            total += filled;
            if (filled < chunk.Length)
            {
                var result = new byte[total];
                var offset = 0;
                foreach (var full in chunks)
                {
                    full.CopyTo(result, offset);
                    offset += full.Length;
                    Array.Clear(full);
                }

                Array.Copy(chunk, 0, result, offset, filled);
                Array.Clear(chunk);
                return result;
            }

            chunks.Add(chunk);
            size = Math.Min(size * 2, 4 * 1024 * 1024);
        }
    }

    private SecurityOutcome JudgeEmbedded(PgpSignedContent literal, List<PgpSignature> signatures, IReadOnlyList<string> senders)
    {
        // The one-pass headers are not used to verify: the literal is in memory, and a header could name another
        // digest than the signature it announces; the signature packet alone says what was signed and how.
        SecurityOutcome? firstFailure = null;
        foreach (var signature in signatures)
        {
            var outcome = Judge(signature, literal, senders);
            if (outcome.Success)
            {
                return outcome;
            }

            firstFailure ??= outcome;
        }

        return firstFailure ?? SecurityOutcome.Failed(SecurityComments.NoSigner);
    }

    /// <summary>
    /// Judges one signature over <paramref name="content"/>: the key must be in the store, digest and key must meet the policy
    /// (checked before any hashing), the signature must match, the key must be valid now and be the sender's.
    /// </summary>
    private SecurityOutcome Judge(PgpSignature signature, PgpSignedContent content, IReadOnlyList<string> senders)
    {
        var digest = PgpAlgorithms.DigestName(signature.HashAlgorithm);
        var keyIdText = signature.KeyId.ToString("X16", CultureInfo.InvariantCulture);
        var entry = store.PgpKeys.FirstOrDefault(k => k.Keys.Any(s => s.KeyId == keyIdText));
        var publicKey = entry?.PublicRing.GetPublicKey(signature.KeyId);
        if (entry is null || publicKey is null)
        {
            return SecurityOutcome.Failed(SecurityComments.CertificateNotFound) with { Digest = digest };
        }

        var sender = senders.FirstOrDefault(s => entry.Addresses.Contains(s) ||
                                                 (entry.DomainAlias is not null && MailAddresses.Domain(s) == entry.DomainAlias));
        var facts = new SecurityOutcome(false, string.Empty)
        {
            Signer = new SignerFacts(sender ?? (entry.Addresses.Count > 0 ? entry.Addresses[0] : null), entry.Fingerprint),
            Digest = digest,
            Key = PgpAlgorithms.KeyFactsOf(publicKey),
        };
        if (PgpAlgorithms.Refusal(policy, signature.HashAlgorithm, publicKey) is { } refusal)
        {
            return facts with { Comment = refusal };
        }

        bool valid;
        try
        {
            // RSA goes through OpenSSL (the key converted once); anything else is BouncyCastle's, as it always was.
            valid = PgpRsaSignature.Verify(signature, publicKey, content) ?? content.VerifyWithBouncyCastle(signature, publicKey);
        }
        catch (Exception e) when (e is PgpException or InvalidOperationException or ArgumentException or CryptoException)
        {
            valid = false;
        }

        if (!valid)
        {
            return facts with { Comment = SecurityComments.Tampered };
        }

        var now = store.Time.GetUtcNow();
        var subkey = entry.Keys.First(s => s.KeyId == keyIdText);
        var revokedAt = entry.RevokedAt ?? subkey.RevokedAt;
        if (revokedAt is { } revoked && revoked <= now)
        {
            return facts with { Comment = SecurityComments.KeyRevoked(revoked) };
        }

        if (now < entry.NotBefore || now < subkey.Created)
        {
            return facts with { Comment = SecurityComments.KeyNotYetValid(subkey.Created > entry.NotBefore ? subkey.Created : entry.NotBefore) };
        }

        var expires = new[] { entry.NotAfter, subkey.Expires }.Where(d => d is not null).Min();
        if (expires is { } expired && now > expired)
        {
            return facts with { Comment = SecurityComments.KeyExpired(expired) };
        }

        if (!subkey.Usages.HasFlag(KeyUsages.Sign))
        {
            return facts with { Comment = SecurityComments.KeyNotForSigning(subkey.Fingerprint) };
        }

        if (sender is null)
        {
            return facts with { Comment = SecurityComments.NotSignedBySender(entry.DisplayName, senders.Count > 0 ? senders[0] : null) };
        }

        return facts with { Success = true, Comment = SecurityComments.SignedBy(sender, $"PGP key {entry.Fingerprint}") };
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

    private static PgpEncryptedDataList? EncryptedDataList(Stream message)
    {
        var factory = new PgpObjectFactory(PgpUtilities.GetDecoderStream(message));
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

    private static PgpSignatureList? ReadSignatures(byte[] signature, PgpInflation inflation)
    {
        var factory = new PgpObjectFactory(PgpUtilities.GetDecoderStream(new MemoryStream(signature, writable: false)));
        for (var item = factory.NextPgpObject(); item is not null; item = factory.NextPgpObject())
        {
            switch (item)
            {
                case PgpSignatureList list:
                    return list;
                case PgpCompressedData compressed:
                    factory = new PgpObjectFactory(inflation.Open(compressed));
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
