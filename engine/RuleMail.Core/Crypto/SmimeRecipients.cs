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
}
