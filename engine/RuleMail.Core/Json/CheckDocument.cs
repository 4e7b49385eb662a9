using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Json;

/// <summary>
/// What <c>rulemail check --json</c> prints and <c>POST /api/v1/check</c> answers (DESIGN.md): the security result,
/// the trace of the incoming rules' dry run, the merged decision and every rule error.
/// </summary>
public sealed record CheckDocument(
    SecurityResult Security,
    IReadOnlyList<RuleTraceEntry> Rules,
    DecisionDocument Decision,
    IReadOnlyList<string> Errors)
{
    /// <summary>
    /// The message as RuleMail sees it (decrypted), base64, when it was asked for (<c>POST /api/v1/check?out=mime</c>)
    /// and it decrypted with its integrity established (<see cref="Crypto.Integrity.Held"/>, as for a webhook); absent otherwise.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Mime { get; init; }

    /// <summary>
    /// This document as the HTTP API answers it: the trace's and the decision's webhook URLs redacted
    /// (<see cref="DecisionDocument.Redacted"/>), so a token that may check mail does not learn the webhooks' secrets.
    /// </summary>
    public CheckDocument Redacted() => this with { Rules = [.. Rules.Select(r => r.Redacted())], Decision = Decision.Redacted() };

    public static CheckDocument From(SecurityResult security, RuleEvaluation evaluation)
    {
        ArgumentNullException.ThrowIfNull(security);
        ArgumentNullException.ThrowIfNull(evaluation);
        return new CheckDocument(
            security,
            [.. evaluation.Trace.Select(RuleTraceEntry.From)],
            DecisionDocument.From(evaluation.Decision),
            evaluation.Errors);
    }
}
