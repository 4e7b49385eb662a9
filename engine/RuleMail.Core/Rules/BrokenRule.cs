namespace RuleMail.Rules;

/// <summary>A rule that could not be loaded: it never matches, and every evaluation reports why in the trace.</summary>
internal sealed class BrokenRule(string name, string file, string error) : IRule
{
    public string Name { get; } = name;

    public string File { get; } = file;

    public RuleDirection On => RuleDirection.Both;

    public bool Enabled => true;

    public RuleResult Evaluate(RuleMessage message) => new(Name, File, false, null, error, []);
}
