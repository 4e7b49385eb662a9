namespace RuleMail.Keys;

/// <summary>The state of an entry at a given moment.</summary>
public enum KeyStatus
{
    Valid,
    Expired,
    NotYetValid,
    Revoked,
}
