using RuleMail.Rules;

namespace RuleMail.Json;

/// <summary>One rule's line in the <c>check --json</c> trace: did it match, on which conditions, what it decided, or why it failed.</summary>
/// <param name="Because">The conditions that held, as a person reads them; empty when it did not match.</param>
/// <param name="Decision">Null when the rule did not match or failed.</param>
/// <param name="Error">Null unless the rule failed (it was skipped; the others still ran).</param>
public sealed record RuleTraceEntry(
    string Name,
    string File,
    bool Matched,
    IReadOnlyList<string> Because,
    DecisionDocument? Decision,
    string? Error)
{
    /// <summary>This entry with its decision's webhook URLs redacted (<see cref="DecisionDocument.Redacted"/>).</summary>
    public RuleTraceEntry Redacted() => Decision is null ? this : this with { Decision = Decision.Redacted() };

    public static RuleTraceEntry From(RuleResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new RuleTraceEntry(
            result.Name,
            result.File,
            result.Matched,
            result.Because,
            result.Decision is null ? null : DecisionDocument.From(result.Decision),
            result.Error);
    }
}
