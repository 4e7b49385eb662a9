using System.Text.RegularExpressions;

namespace RuleMail.Rules;

/// <summary>A rule from a YAML file: <c>when</c> (optional: always) decides whether <c>then</c> applies.</summary>
internal sealed class YamlRule(string name, string file, RuleDirection on, bool enabled, Condition? when, RuleDecision then) : IRule
{
    public string Name { get; } = name;

    public string File { get; } = file;

    public RuleDirection On { get; } = on;

    public bool Enabled { get; } = enabled;

    public RuleResult Evaluate(RuleMessage message)
    {
        var because = new List<string>();
        try
        {
            if (when is not null && !when.Holds(message, because))
            {
                return new RuleResult(Name, File, false, null, null, []);
            }
        }
        catch (RegexMatchTimeoutException e)
        {
            return new RuleResult(Name, File, false, null, $"the pattern '{e.Pattern}' took longer than {e.MatchTimeout.TotalMilliseconds:F0} ms and was stopped", []);
        }

        return new RuleResult(Name, File, true, then, null, when is null ? ["no conditions (always)"] : because);
    }
}
