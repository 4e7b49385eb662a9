using System.Text.Json.Serialization;
using RuleMail.Keys;

namespace RuleMail.Json;

/// <summary>
/// One key store entry as <c>keys list --json</c> shows it: the fields every kind has (a null is written), then the
/// kind's own (<see cref="SmimeKeyListEntry"/>, <see cref="PgpKeyListEntry"/>, <see cref="CrlKeyListEntry"/>).
/// The names of kinds, statuses and usages are part of the contract, so the human output uses them too.
/// </summary>
[JsonDerivedType(typeof(SmimeKeyListEntry))]
[JsonDerivedType(typeof(PgpKeyListEntry))]
[JsonDerivedType(typeof(CrlKeyListEntry))]
public abstract record KeyListEntry
{
    /// <summary>The common fields come first: System.Text.Json would otherwise write a derived type's own fields before them.</summary>
    private const int CommonFields = -1;

    /// <summary>The fields every kind has, of <paramref name="entry"/> with its status at <paramref name="now"/>.</summary>
    private protected KeyListEntry(KeyEntry entry, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Kind = KindName(entry.Kind);
        Fingerprint = entry.Fingerprint;
        Name = entry.DisplayName;
        Addresses = entry.Addresses;
        NotBefore = entry.NotBefore;
        NotAfter = entry.NotAfter;
        Usages = UsageNames(entry.Usages);
        Status = StatusName(entry.StatusAt(now));
        HasPrivateKey = entry.HasPrivateKey;
        RevokedAt = entry.RevokedAt;
    }

    /// <summary><c>smime</c>, <c>pgp</c> or <c>crl</c>.</summary>
    [JsonPropertyOrder(CommonFields)]
    public string Kind { get; init; }

    [JsonPropertyOrder(CommonFields)]
    public string Fingerprint { get; init; }

    [JsonPropertyOrder(CommonFields)]
    public string Name { get; init; }

    [JsonPropertyOrder(CommonFields)]
    public IReadOnlyList<string> Addresses { get; init; }

    [JsonPropertyOrder(CommonFields)]
    public DateTimeOffset NotBefore { get; init; }

    [JsonPropertyOrder(CommonFields)]
    public DateTimeOffset? NotAfter { get; init; }

    /// <summary><c>sign</c> and/or <c>encrypt</c>.</summary>
    [JsonPropertyOrder(CommonFields)]
    public IReadOnlyList<string> Usages { get; init; }

    /// <summary><c>valid</c>, <c>expired</c>, <c>not_yet_valid</c> or <c>revoked</c>.</summary>
    [JsonPropertyOrder(CommonFields)]
    public string Status { get; init; }

    [JsonPropertyOrder(CommonFields)]
    public bool HasPrivateKey { get; init; }

    [JsonPropertyOrder(CommonFields)]
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary><paramref name="entry"/> as listed, with its status at <paramref name="now"/>.</summary>
    public static KeyListEntry From(KeyEntry entry, DateTimeOffset now) => entry switch
    {
        SmimeCertificateEntry certificate => new SmimeKeyListEntry(certificate, now),
        PgpKeyEntry key => new PgpKeyListEntry(key, now),
        CrlEntry crl => new CrlKeyListEntry(crl, now),
        null => throw new ArgumentNullException(nameof(entry)),
        _ => throw new ArgumentException($"no listing for a {entry.GetType().Name}", nameof(entry)),
    };

    public static string KindName(KeyKind kind) => kind switch
    {
        KeyKind.Smime => "smime",
        KeyKind.Pgp => "pgp",
        _ => "crl",
    };

    public static string StatusName(KeyStatus status) => status switch
    {
        KeyStatus.Valid => "valid",
        KeyStatus.Expired => "expired",
        KeyStatus.NotYetValid => "not_yet_valid",
        _ => "revoked",
    };

    public static IReadOnlyList<string> UsageNames(KeyUsages usages)
    {
        var names = new List<string>();
        if (usages.HasFlag(KeyUsages.Sign))
        {
            names.Add("sign");
        }

        if (usages.HasFlag(KeyUsages.Encrypt))
        {
            names.Add("encrypt");
        }

        return names;
    }
}
