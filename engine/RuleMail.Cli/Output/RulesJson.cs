using RuleMail.Rules;

namespace RuleMail.Cli.Output;

/// <summary>Rule decisions as one line for people (<c>check --json</c> is <see cref="Json.CheckDocument"/>).</summary>
internal static class RulesJson
{
    /// <summary>A decision in one line: <c>flag security-failed; move Quarantine; stop</c>.</summary>
    public static string Describe(RuleDecision decision) => DecisionJson.Describe(decision);
}
