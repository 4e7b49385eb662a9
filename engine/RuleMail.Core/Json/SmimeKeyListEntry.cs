using RuleMail.Keys;

namespace RuleMail.Json;

/// <summary>An S/MIME certificate in <c>keys list --json</c>: the common fields, then subject, issuer, serial and whether it is a trust anchor.</summary>
public sealed record SmimeKeyListEntry : KeyListEntry
{
    internal SmimeKeyListEntry(SmimeCertificateEntry certificate, DateTimeOffset now)
        : base(certificate, now)
    {
        Subject = certificate.Subject;
        Issuer = certificate.Issuer;
        Serial = certificate.SerialNumber;
        TrustAnchor = certificate.IsTrustAnchor;
    }

    public string Subject { get; init; }

    public string Issuer { get; init; }

    public string Serial { get; init; }

    public bool TrustAnchor { get; init; }
}
