namespace RuleMail.Rules;

/// <summary>A loaded rule: YAML or JavaScript. Implementations are thread-safe.</summary>
internal interface IRule
{
    string Name { get; }

    /// <summary>The file it came from (for traces and errors).</summary>
    string File { get; }

    RuleDirection On { get; }

    bool Enabled { get; }

    /// <summary>Evaluates the rule; never throws for the rule's own faults (they come back as <see cref="RuleResult.Error"/>).</summary>
    RuleResult Evaluate(RuleMessage message);
}
