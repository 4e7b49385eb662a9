namespace RuleMail.Composer;

/// <summary>
/// Which outgoing rule made signing or encryption required, preferred or forbidden for a draft (the composer shows a
/// button a rule decided as such); each null when no rule spoke of it and the keys and defaults decide.
/// </summary>
public sealed record RuleProtection(RuleChoice? Sign, RuleChoice? Encrypt);

/// <summary>One protection a rule decided: <c>required</c>, <c>preferred</c> or <c>never</c>, and the rule that said so.</summary>
public sealed record RuleChoice(string Preference, string Rule, string File);
