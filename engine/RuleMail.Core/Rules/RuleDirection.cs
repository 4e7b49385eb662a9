namespace RuleMail.Rules;

/// <summary>Which messages a rule applies to.</summary>
public enum RuleDirection
{
    Incoming,
    Outgoing,
    Both,
}
