using RuleMail.Keys;

namespace RuleMail.Json;

/// <summary>A certificate revocation list in <c>keys list --json</c>: the common fields, then its issuer and how many certificates it revokes.</summary>
public sealed record CrlKeyListEntry : KeyListEntry
{
    internal CrlKeyListEntry(CrlEntry crl, DateTimeOffset now)
        : base(crl, now)
    {
        Issuer = crl.Issuer;
        RevokedCount = crl.RevokedCount;
    }

    public string Issuer { get; init; }

    public int RevokedCount { get; init; }
}
