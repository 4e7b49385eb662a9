namespace RuleMail.Json;

/// <summary>What <c>POST /api/v1/rules/lint</c> answers: whether the rules load, how many, and every problem as <c>rulemail rules lint</c> lists it.</summary>
public sealed record RuleLintDocument(bool Ok, int Files, int Rules, IReadOnlyList<RuleLintError> Errors);
