using RuleMail.Rules;

namespace RuleMail.Cli.Output;

/// <summary>Rule traces and decisions as <c>check --json</c> prints them, and as one line for people.</summary>
internal static class RulesJson
{
    /// <summary>Only the keys a decision sets, in the vocabulary's names.</summary>
    public static Dictionary<string, object> Decision(RuleDecision decision) => DecisionJson.Decision(decision);

    public static List<Dictionary<string, object?>> Trace(RuleEvaluation evaluation) =>
    [
        .. evaluation.Trace.Select(r => new Dictionary<string, object?>
        {
            ["name"] = r.Name,
            ["file"] = r.File,
            ["matched"] = r.Matched,
            ["because"] = r.Because,
            ["decision"] = r.Decision is null ? null : Decision(r.Decision),
            ["error"] = r.Error,
        }),
    ];

    /// <summary>A decision in one line: <c>flag security-failed; move Quarantine; stop</c>.</summary>
    public static string Describe(RuleDecision decision) => DecisionJson.Describe(decision);
}
