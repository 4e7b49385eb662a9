namespace RuleMail.Keys;

/// <summary>
/// What the store needs to know of one certificate without parsing it: derived from the certificate's bytes when a
/// file is first seen and kept in the <see cref="KeyStoreCache"/> under the SHA-256 of those bytes.
/// </summary>
/// <param name="BcSerial">The serial number as BouncyCastle reads it (hex of its two's complement bytes), to match CRL entries.</param>
/// <param name="SubjectKey">A coarse form of the subject name (<see cref="NameKeys"/>), to find the certificates a CRL issuer may name.</param>
internal sealed record SmimeFacts(
    string Fingerprint,
    IReadOnlyList<string> Addresses,
    DateTimeOffset NotBefore,
    DateTimeOffset NotAfter,
    KeyUsages Usages,
    bool IsCertificateAuthority,
    bool HasAltNameAddress,
    bool IsRsa,
    string Subject,
    string Issuer,
    string SerialNumber,
    string BcSerial,
    string SubjectKey);
