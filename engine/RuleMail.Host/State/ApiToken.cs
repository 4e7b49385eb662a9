namespace RuleMail.Host.State;

/// <summary>
/// One HTTP API token as the state keeps it: its name, role and the SHA-256 of the token (lowercase hex), never the
/// token itself.
/// </summary>
public sealed record ApiToken(string Name, ApiRole Role, string Sha256, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt)
{
    public bool IsRevoked => RevokedAt is not null;
}
