namespace RuleMail.Keys;

/// <summary>What an import did to one entry.</summary>
public enum ImportChange
{
    Added,
    Updated,
    Unchanged,
}
