using RuleMail.Rules;

namespace RuleMail.Json;

/// <summary>One rule in force: its name, the file it comes from (as traces and lint name it), its direction and whether it is on.</summary>
/// <param name="On"><c>incoming</c>, <c>outgoing</c> or <c>both</c>, as the rule file writes it (a JavaScript rule is <c>both</c>).</param>
/// <param name="Enabled">False for a rule written with <c>enabled: false</c>: it is loaded but never runs.</param>
public sealed record RuleListEntry(string Name, string File, string On, bool Enabled)
{
    internal static RuleListEntry From(IRule rule) => new(rule.Name, rule.File, DirectionName(rule.On), rule.Enabled);

    /// <summary>The rule files' word for <paramref name="direction"/>.</summary>
    public static string DirectionName(RuleDirection direction) => direction switch
    {
        RuleDirection.Incoming => "incoming",
        RuleDirection.Outgoing => "outgoing",
        _ => "both",
    };
}
