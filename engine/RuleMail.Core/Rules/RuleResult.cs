namespace RuleMail.Rules;

/// <summary>
/// One rule's part in the trace: whether it matched (and on which conditions), what it decided, or why it
/// failed. A failed rule is skipped; the others still run.
/// </summary>
/// <param name="Because">The conditions that held, as a person reads them (e.g. <c>security.sign.success = false</c>).</param>
public sealed record RuleResult(string Name, string File, bool Matched, RuleDecision? Decision, string? Error, IReadOnlyList<string> Because);
