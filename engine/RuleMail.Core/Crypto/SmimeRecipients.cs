using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography.Xml;

namespace RuleMail.Crypto;

/// <summary>Matches CMS signer and recipient identifiers to certificates.</summary>
internal static class SmimeRecipients
{
    public static bool Matches(SubjectIdentifier identifier, X509Certificate2 certificate) => identifier.Type switch
    {
        SubjectIdentifierType.IssuerAndSerialNumber when identifier.Value is X509IssuerSerial issuerSerial =>
            string.Equals(issuerSerial.SerialNumber, certificate.SerialNumber, StringComparison.OrdinalIgnoreCase) &&
            string.Equals(issuerSerial.IssuerName, certificate.IssuerName.Name, StringComparison.Ordinal),
        SubjectIdentifierType.SubjectKeyIdentifier when identifier.Value is string keyIdentifier =>
            certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>()
                .Any(e => string.Equals(e.SubjectKeyIdentifier, keyIdentifier, StringComparison.OrdinalIgnoreCase)),
        _ => false,
    };

    /// <summary>
    /// Who <paramref name="identifier"/> names, as a key that equals one of <see cref="IdentitiesOf"/> exactly when
    /// <see cref="Matches"/> holds, so recipients can be matched through a dictionary instead of pair by pair.
    /// </summary>
    public static string? IdentityOf(SubjectIdentifier identifier) => identifier.Type switch
    {
        SubjectIdentifierType.IssuerAndSerialNumber when identifier.Value is X509IssuerSerial issuerSerial =>
            IssuerSerialIdentity(issuerSerial.IssuerName, issuerSerial.SerialNumber),
        SubjectIdentifierType.SubjectKeyIdentifier when identifier.Value is string keyIdentifier => KeyIdentifierIdentity(keyIdentifier),
        _ => null,
    };

    /// <summary>The identities under which a CMS identifier can name <paramref name="certificate"/>.</summary>
    public static IEnumerable<string> IdentitiesOf(X509Certificate2 certificate)
    {
        yield return IssuerSerialIdentity(certificate.IssuerName.Name, certificate.SerialNumber);
        foreach (var extension in certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>())
        {
            if (extension.SubjectKeyIdentifier is { } keyIdentifier)
            {
                yield return KeyIdentifierIdentity(keyIdentifier);
            }
        }
    }

    // Serial numbers and key identifiers are hex, compared without regard to case (as Matches does); issuer names as they are.
    private static string IssuerSerialIdentity(string issuer, string serial) => $"issuer:{serial.ToUpperInvariant()}:{issuer}";

    private static string KeyIdentifierIdentity(string keyIdentifier) => $"ski:{keyIdentifier.ToUpperInvariant()}";
}
