using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Json;

/// <summary>
/// What <c>POST /api/v1/rules/test</c> answers: a dry run of the incoming or outgoing rules on one message, with the
/// trace, the merged decision and every rule error as <c>check --json</c> has them.
/// </summary>
/// <param name="Direction"><c>incoming</c> or <c>outgoing</c>.</param>
/// <param name="Security">Incoming: the message's security result, which the rules saw; outgoing: null (nothing is protected in a dry run).</param>
public sealed record RuleTestDocument(
    string Direction,
    SecurityResult? Security,
    IReadOnlyList<RuleTraceEntry> Rules,
    DecisionDocument Decision,
    IReadOnlyList<string> Errors)
{
    /// <summary>This document as the HTTP API answers it: the trace's and the decision's webhook URLs redacted (<see cref="DecisionDocument.Redacted"/>).</summary>
    public RuleTestDocument Redacted() => this with { Rules = [.. Rules.Select(r => r.Redacted())], Decision = Decision.Redacted() };

    public static RuleTestDocument From(RuleDirection direction, SecurityResult? security, RuleEvaluation evaluation)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        return new RuleTestDocument(
            direction == RuleDirection.Outgoing ? "outgoing" : "incoming",
            security,
            [.. evaluation.Trace.Select(RuleTraceEntry.From)],
            DecisionDocument.From(evaluation.Decision),
            evaluation.Errors);
    }
}
