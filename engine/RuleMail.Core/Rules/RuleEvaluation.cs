namespace RuleMail.Rules;

/// <summary>What the rules made of one message: the trace of every rule that ran, the merged decision, and every error.</summary>
public sealed record RuleEvaluation(IReadOnlyList<RuleResult> Trace, RuleDecision Decision, IReadOnlyList<string> Errors);
