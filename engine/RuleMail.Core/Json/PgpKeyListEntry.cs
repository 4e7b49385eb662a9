using RuleMail.Keys;

namespace RuleMail.Json;

/// <summary>An OpenPGP key ring in <c>keys list --json</c>: the common fields, then its key id, user ids, domain alias and each key of the ring.</summary>
public sealed record PgpKeyListEntry : KeyListEntry
{
    internal PgpKeyListEntry(PgpKeyEntry key, DateTimeOffset now)
        : base(key, now)
    {
        KeyId = key.KeyId;
        UserIds = key.UserIds;
        DomainAlias = key.DomainAlias;
        Keys = [.. key.Keys.Select(PgpKeyListKey.From)];
    }

    public string KeyId { get; init; }

    public IReadOnlyList<string> UserIds { get; init; }

    /// <summary>The domain this key also answers for; null (written) when none.</summary>
    public string? DomainAlias { get; init; }

    /// <summary>The primary key first, then the subkeys.</summary>
    public IReadOnlyList<PgpKeyListKey> Keys { get; init; }
}
