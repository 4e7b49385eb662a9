using System.Text.Json;
using System.Text.Json.Serialization;
using RuleMail.Keys;

namespace RuleMail.Cli.Output;

/// <summary>The JSON shape of key store entries (<c>keys list --json</c>). Field names are a contract.</summary>
internal static class KeyJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static object Describe(KeyEntry entry, DateTimeOffset now)
    {
        var common = new Dictionary<string, object?>
        {
            ["kind"] = Kind(entry.Kind),
            ["fingerprint"] = entry.Fingerprint,
            ["name"] = entry.DisplayName,
            ["addresses"] = entry.Addresses,
            ["not_before"] = entry.NotBefore,
            ["not_after"] = entry.NotAfter,
            ["usages"] = Usages(entry.Usages),
            ["status"] = Status(entry.StatusAt(now)),
            ["has_private_key"] = entry.HasPrivateKey,
            ["revoked_at"] = entry.RevokedAt,
        };

        switch (entry)
        {
            case SmimeCertificateEntry certificate:
                common["subject"] = certificate.Subject;
                common["issuer"] = certificate.Issuer;
                common["serial"] = certificate.SerialNumber;
                common["trust_anchor"] = certificate.IsTrustAnchor;
                break;
            case PgpKeyEntry key:
                common["key_id"] = key.KeyId;
                common["user_ids"] = key.UserIds;
                common["domain_alias"] = key.DomainAlias;
                common["keys"] = key.Keys.Select(k => new Dictionary<string, object?>
                {
                    ["fingerprint"] = k.Fingerprint,
                    ["key_id"] = k.KeyId,
                    ["primary"] = k.IsPrimary,
                    ["algorithm"] = k.Algorithm,
                    ["created"] = k.Created,
                    ["expires"] = k.Expires,
                    ["usages"] = Usages(k.Usages),
                    ["revoked_at"] = k.RevokedAt,
                    ["has_secret_key"] = k.HasSecretKey,
                }).ToList();
                break;
            case CrlEntry crl:
                common["issuer"] = crl.Issuer;
                common["revoked_count"] = crl.RevokedCount;
                break;
        }

        return common;
    }

    public static string Kind(KeyKind kind) => kind switch
    {
        KeyKind.Smime => "smime",
        KeyKind.Pgp => "pgp",
        _ => "crl",
    };

    public static string Status(KeyStatus status) => status switch
    {
        KeyStatus.Valid => "valid",
        KeyStatus.Expired => "expired",
        KeyStatus.NotYetValid => "not_yet_valid",
        _ => "revoked",
    };

    public static List<string> Usages(KeyUsages usages)
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
