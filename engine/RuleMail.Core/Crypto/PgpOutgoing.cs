using System.Globalization;
using System.Text;
using MimeKit;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Security;
using RuleMail.Keys;

namespace RuleMail.Crypto;

/// <summary>
/// OpenPGP for outgoing mail on BouncyCastle, with the store's keys (RFC 3156): multipart/signed with an
/// armored detached signature over the canonical bytes of the first part, and multipart/encrypted holding an
/// AES-256 message that always carries integrity protection (MDC). Signed and encrypted together, the
/// signature travels inside the encryption (one-pass signature, literal data, signature; section 6.2).
/// </summary>
internal sealed class PgpOutgoing(KeyStore store)
{
    public const string SignatureProtocol = "application/pgp-signature";
    public const string EncryptionProtocol = "application/pgp-encrypted";
    public const string Micalg = "pgp-sha256";

    private const HashAlgorithmTag Hash = HashAlgorithmTag.Sha256;
    private const SymmetricKeyAlgorithmTag Cipher = SymmetricKeyAlgorithmTag.Aes256;

    /// <summary>Finds and opens every key the request needs, or says which one is missing. Nothing is signed or encrypted yet.</summary>
    public Plan? Prepare(OutgoingRequest request, string? sender, IReadOnlyList<string> recipients, List<string> notes, out string? refusal)
    {
        refusal = null;
        var now = store.Time.GetUtcNow();
        Signer? signer = null;
        if (request.Sign)
        {
            var entry = sender is null ? null : store.FindPgp(sender, KeyUsages.Sign, needPrivateKey: true);
            var subkey = entry?.KeyFor(KeyUsages.Sign, now, needSecret: true);
            var publicKey = subkey is null ? null : entry!.PublicRing.GetPublicKey(KeyId(subkey));
            if (entry is null || subkey is null || publicKey is null)
            {
                refusal = sender is null ? OutgoingRefusals.NoSender(SecurityResult.PgpType) : OutgoingRefusals.NoSigningKey(sender);
                return null;
            }

            try
            {
                signer = new Signer(entry, subkey, publicKey, store.OpenPrivateKey(entry, KeyId(subkey)));
            }
            catch (Exception e) when (e is KeyStoreException or PgpException)
            {
                refusal = OutgoingRefusals.PrivateKeyUnavailable(SecurityResult.PgpType, sender!, e.Message);
                return null;
            }
        }

        var encryptTo = new List<PgpPublicKey>();
        if (request.Encrypt)
        {
            foreach (var recipient in recipients)
            {
                var key = EncryptionKey(recipient, now, out var entry);
                if (key is null)
                {
                    refusal = OutgoingRefusals.NoEncryptionKey(recipient);
                    return null;
                }

                AddOnce(encryptTo, key);
                notes.Add($"Encrypted for {recipient} with the PGP key {entry!.Fingerprint} (encryption key {Hex(key.KeyId)})");
            }

            if (request.EncryptToSender && sender is not null)
            {
                var own = EncryptionKey(sender, now, out var entry);
                if (own is null)
                {
                    notes.Add($"The sent copy cannot be decrypted by {sender}: {OutgoingRefusals.NoEncryptionKey(sender)}");
                }
                else
                {
                    AddOnce(encryptTo, own);
                    notes.Add($"Encrypted for the sender {sender} too, with the PGP key {entry!.Fingerprint} (encryption key {Hex(own.KeyId)})");
                }
            }
        }

        return new Plan(signer, encryptTo);
    }

    /// <summary>Signs and/or encrypts the prepared entity. Throws only on a cryptographic failure (the caller turns it into a refusal).</summary>
    public MimeEntity Protect(Plan plan, MimeEntity entity, byte[] canonical, string? sender, List<string> notes)
    {
        var now = store.Time.GetUtcNow().UtcDateTime;
        if (plan.Signer is not null)
        {
            notes.Add($"Signed for {sender} with the PGP key {plan.Signer.Entry.Fingerprint} (signing key {plan.Signer.Subkey.KeyId}, {plan.Signer.Subkey.Algorithm})");
        }

        if (plan.EncryptTo.Count == 0)
        {
            return plan.Signer is null ? entity : SignDetached(plan.Signer, entity, canonical, now);
        }

        return Encrypted(Encrypt(plan, canonical, now));
    }

    private static Multipart SignDetached(Signer signer, MimeEntity entity, byte[] canonical, DateTime now)
    {
        var armored = Armor(output => Signature(signer, now).Write(output, canonical));

        var signature = new MimePart("application", "pgp-signature")
        {
            Content = new MimeContent(new MemoryStream(armored, writable: false)),
            ContentTransferEncoding = ContentEncoding.SevenBit,
            ContentDisposition = new ContentDisposition(ContentDisposition.Attachment) { FileName = "signature.asc" },
            ContentDescription = "OpenPGP digital signature",
        };
        signature.ContentType.Name = "signature.asc";

        var signed = new Multipart("signed") { entity, signature };
        signed.ContentType.Parameters["micalg"] = Micalg;
        signed.ContentType.Parameters["protocol"] = SignatureProtocol;
        return signed;
    }

    /// <summary>The armored OpenPGP message: AES-256 with MDC, to every key; with a signer, the signature packets inside.</summary>
    private static byte[] Encrypt(Plan plan, byte[] canonical, DateTime now)
    {
        // All-RSA recipients: the session key is wrapped by OpenSSL; any other key, and BouncyCastle writes the whole message.
        var rsa = PgpRsaEncryption.For(plan.EncryptTo);
        PgpEncryptedDataGenerator? encryption = null;
        if (rsa is null)
        {
            encryption = new PgpEncryptedDataGenerator(Cipher, withIntegrityPacket: true, new SecureRandom());
            foreach (var key in plan.EncryptTo)
            {
                encryption.AddMethod(key);
            }
        }

        return Armor(output =>
        {
            using var encrypted = rsa?.Open(output, new byte[1 << 16]) ?? encryption!.Open(output, new byte[1 << 16]);
            var signature = plan.Signer is null ? null : Signature(plan.Signer, now);
            signature?.WriteOnePass(encrypted);

            var literal = new PgpLiteralDataGenerator();
            using (var data = literal.Open(encrypted, PgpLiteralData.Binary, string.Empty, canonical.Length, now))
            {
                data.Write(canonical);
            }

            signature?.Write(encrypted, canonical);
        });
    }

    private static Multipart Encrypted(byte[] armored)
    {
        var control = new MimePart("application", "pgp-encrypted")
        {
            Content = new MimeContent(new MemoryStream(Encoding.ASCII.GetBytes("Version: 1\r\n"), writable: false)),
            ContentTransferEncoding = ContentEncoding.SevenBit,
            ContentDescription = "PGP/MIME version identification",
        };
        var data = new MimePart("application", "octet-stream")
        {
            Content = new MimeContent(new MemoryStream(armored, writable: false)),
            ContentTransferEncoding = ContentEncoding.SevenBit,
            ContentDisposition = new ContentDisposition(ContentDisposition.Inline) { FileName = "encrypted.asc" },
            ContentDescription = "OpenPGP encrypted message",
        };
        data.ContentType.Name = "encrypted.asc";

        var encrypted = new Multipart("encrypted") { control, data };
        encrypted.ContentType.Parameters["protocol"] = EncryptionProtocol;
        return encrypted;
    }

    /// <summary>The signature the signer makes: RSA through OpenSSL (<see cref="PgpRsaSigning"/>), any other key through BouncyCastle.</summary>
    private static SignatureWriter Signature(Signer signer, DateTime now)
    {
        var hashedGenerator = new PgpSignatureSubpacketGenerator();
        hashedGenerator.SetSignatureCreationTime(false, now);
        hashedGenerator.SetIssuerFingerprint(false, signer.PublicKey);
        var hashed = hashedGenerator.Generate();
        var unhashedGenerator = new PgpSignatureSubpacketGenerator();
        unhashedGenerator.SetIssuerKeyID(false, signer.PublicKey.KeyId);
        var unhashed = unhashedGenerator.Generate();
        if (PgpRsaSigning.For(signer.PublicKey, signer.PrivateKey, Hash, hashed, unhashed) is { } rsa)
        {
            return new SignatureWriter(rsa.WriteOnePass, rsa.WriteSignature);
        }

        var generator = new PgpSignatureGenerator(signer.PublicKey.Algorithm, Hash);
        generator.InitSign(PgpSignature.BinaryDocument, signer.PrivateKey);
        generator.SetHashedSubpackets(hashed);
        generator.SetUnhashedSubpackets(unhashed);
        return new SignatureWriter(
            output => generator.GenerateOnePassVersion(false).Encode(output),
            (output, content) =>
            {
                generator.Update(content);
                generator.Generate().Encode(output);
            });
    }

    private static byte[] Armor(Action<Stream> write)
    {
        using var buffer = new MemoryStream();
        // No "Version:" line: it tells an attacker the library and its version, and tells the reader nothing.
        using (var armored = new ArmoredOutputStream(buffer, addVersionHeader: false))
        {
            write(armored);
        }

        return buffer.ToArray();
    }

    /// <summary>The newest valid encryption key (subkey) of the best PGP key for <paramref name="address"/>.</summary>
    private PgpPublicKey? EncryptionKey(string address, DateTimeOffset now, out PgpKeyEntry? entry)
    {
        entry = store.FindPgp(address, KeyUsages.Encrypt);
        var subkey = entry?.KeyFor(KeyUsages.Encrypt, now);
        return subkey is null ? null : entry!.PublicRing.GetPublicKey(KeyId(subkey));
    }

    private static long KeyId(PgpSubkey subkey) => long.Parse(subkey.KeyId, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private static string Hex(long keyId) => keyId.ToString("X16", CultureInfo.InvariantCulture);

    private static void AddOnce(List<PgpPublicKey> keys, PgpPublicKey key)
    {
        if (!keys.Any(k => k.KeyId == key.KeyId))
        {
            keys.Add(key);
        }
    }

    /// <summary>Writes the one-pass packet, and the signature over the content.</summary>
    private sealed record SignatureWriter(Action<Stream> WriteOnePass, SignatureWriter.Signing Write)
    {
        public delegate void Signing(Stream output, ReadOnlySpan<byte> content);
    }

    /// <summary>The signing key of the sender, opened.</summary>
    public sealed record Signer(PgpKeyEntry Entry, PgpSubkey Subkey, PgpPublicKey PublicKey, PgpPrivateKey PrivateKey);

    /// <summary>The keys a request needs, found before anything is signed or encrypted.</summary>
    public sealed record Plan(Signer? Signer, IReadOnlyList<PgpPublicKey> EncryptTo);
}
