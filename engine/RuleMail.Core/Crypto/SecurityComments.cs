using System.Globalization;

namespace RuleMail.Crypto;

/// <summary>
/// Every comment a security result can carry. Two are fixed by the seed and must never change:
/// <see cref="CertificateNotFound"/> and <see cref="PrivateKeyNotFound"/>. Each other failure has its own sentence.
/// </summary>
public static class SecurityComments
{
    /// <summary>Seed text: signed, but the signer's certificate (or PGP public key) is not in the store, or no chain reaches a trust anchor.</summary>
    public const string CertificateNotFound = "Unable to find certificate for validation";

    /// <summary>Seed text: encrypted, but no private key in the store opens it.</summary>
    public const string PrivateKeyNotFound = "Unable to find private key to decrypt";

    public const string Tampered = "The signature does not match the content: the message was changed after it was signed";

    public const string NoIntegrityProtection =
        "The message is encrypted without integrity protection (no MDC or AEAD), so it could have been altered on its way; it was not decrypted";

    public const string IntegrityCheckFailed =
        "The encrypted message failed its integrity check: it was altered on its way; its content was discarded";

    public const string NoSigner = "The signature names no signer";

    public static string SignedBy(string signer, string detail) => $"Signed by {signer} ({detail})";

    public static string DecryptedFor(string recipient, string detail) => $"Decrypted with the private key of {recipient} ({detail})";

    public static string NotSignedBySender(string signer, string? sender) =>
        sender is null
            ? $"The message is not signed by its sender: it has no From address, and the signature is by {signer}"
            : $"The message is not signed by its sender: signed by {signer}, sent from {sender}";

    public static string CertificateExpired(DateTimeOffset when) => $"The signer's certificate expired on {Date(when)}";

    public static string CertificateNotYetValid(DateTimeOffset when) => $"The signer's certificate is not valid before {Date(when)}";

    public static string CertificateRevoked(DateTimeOffset when) => $"The signer's certificate was revoked on {Date(when)}";

    public static string ChainInvalid(string reason) => $"The signer's certificate chain is not valid: {reason}";

    public static string CertificateNotForSigning(string subject) => $"The signer's certificate ({subject}) is not allowed for e-mail signatures";

    public static string KeyExpired(DateTimeOffset when) => $"The signer's PGP key expired on {Date(when)}";

    public static string KeyNotYetValid(DateTimeOffset when) => $"The signer's PGP key is not valid before {Date(when)}";

    public static string KeyRevoked(DateTimeOffset when) => $"The signer's PGP key was revoked on {Date(when)}";

    public static string KeyNotForSigning(string fingerprint) => $"The signer's PGP key {fingerprint} is not allowed to sign";

    public static string Malformed(string detail) => $"The message's security structure is damaged: {detail}";

    public static string Unsupported(string detail) => $"The message uses something RuleMail cannot check: {detail}";

    // The algorithm policy and the resource limits (security: in rulemail.yaml). Each refusal names what was
    // refused and the setting that governs it, so an admin can act on it.

    /// <summary>The signature's digest (or signature algorithm) is MD2, MD4 or MD5: forgeable, refused always.</summary>
    public static string BrokenDigest(string digest) =>
        $"The signature uses {digest.ToUpperInvariant()}, a broken digest algorithm, so it proves nothing about the content";

    public const string Sha1Refused =
        "The signature uses SHA-1, which is no longer accepted as proof (security.accept_sha1_signatures allows it)";

    public static string SignerKeyTooSmall(string algorithm, int bits, int minimum) =>
        $"The signer's {algorithm.ToUpperInvariant()} key has only {bits.ToString(CultureInfo.InvariantCulture)} bits; at least {minimum.ToString(CultureInfo.InvariantCulture)} are required (security.min_rsa_bits)";

    public static string TooManySignatures(int count, int maximum) =>
        $"The message carries {count.ToString(CultureInfo.InvariantCulture)} signatures, more than the {maximum.ToString(CultureInfo.InvariantCulture)} RuleMail examines (security.max_signatures), so none of them was judged";

    public static string TooManyKeyAttempts(int maximum) =>
        $"No private key opened the message within {maximum.ToString(CultureInfo.InvariantCulture)} attempts (security.max_key_attempts); it was not decrypted";

    public static string DecompressedTooLarge(long maximumBytes) =>
        Malformed($"its compressed data expands to more than {(maximumBytes / (1024 * 1024)).ToString(CultureInfo.InvariantCulture)} MB (security.max_decompressed_mb); it was not expanded further");

    public static string CompressionTooDeep(int maximum) =>
        Malformed($"its compressed data is nested more than {maximum.ToString(CultureInfo.InvariantCulture)} levels deep");

    public const string MultipleSenders =
        "The message names more than one sender (several From addresses, a group, or more than one From field), so no signature can stand for its sender";

    public const string NoSender = "The message names no sender (no valid From address), so no signature can stand for its sender";

    /// <summary>A limit on the message's structure was hit before it was parsed: it is damaged, judged without parsing further.</summary>
    public static string StructureTooLarge(string detail) => Malformed(detail);

    /// <summary>Compressed OpenPGP data expanded beyond the grace size by more than the allowed ratio: a decompression bomb.</summary>
    public static string CompressionRatioTooHigh(int maximumRatio) =>
        Malformed($"its compressed data expands more than {maximumRatio.ToString(CultureInfo.InvariantCulture)} times (security.max_compression_ratio); it was not expanded further");

    /// <summary>The signer's elliptic-curve key is on a curve RuleMail does not accept (below 256 bits, or unknown).</summary>
    public static string SignerCurveRefused(string curve) =>
        $"The signer's key is on the elliptic curve {curve}, which is not accepted for signatures (P-256 or stronger, Ed25519 or Ed448 are)";

    private static string Date(DateTimeOffset when) => when.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    /// <summary>The signer's EC key is on a curve below the fixed minimum (no setting lowers it: such curves are broken or nearly so).</summary>
    public static string SignerCurveTooSmall(int bits, int minimum) =>
        $"The signer's ECDSA key has only {bits.ToString(CultureInfo.InvariantCulture)} bits; at least {minimum.ToString(CultureInfo.InvariantCulture)} are required";

    /// <summary>A signed message carries more certificates than any real chain needs: they are not read, the signature not judged.</summary>
    public static string TooManyCertificates(int count, int maximum) =>
        Malformed($"its signature carries {count.ToString(CultureInfo.InvariantCulture)} certificates, more than the {maximum.ToString(CultureInfo.InvariantCulture)} RuleMail reads, so it was not judged");
}
