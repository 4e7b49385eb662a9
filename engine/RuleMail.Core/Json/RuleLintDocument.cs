using RuleMail.Rules;

namespace RuleMail.Json;

/// <summary>
/// What <c>rulemail rules lint --json</c> prints and <c>POST /api/v1/rules/lint</c> answers: whether the rules load, how
/// many, and every problem as <c>rulemail rules lint</c> lists it.
/// </summary>
public sealed record RuleLintDocument(bool Ok, int Files, int Rules, IReadOnlyList<RuleLintError> Errors)
{
    public static RuleLintDocument From(RuleSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        return new(set.Errors.Count == 0, set.FileCount, set.RuleCount, [.. set.Errors.Select(RuleLintError.From)]);
    }
}
