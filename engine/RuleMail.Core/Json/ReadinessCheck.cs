namespace RuleMail.Json;

/// <summary>One readiness check: whether it passed, and in one line what was found (or what is wrong).</summary>
public sealed record ReadinessCheck(bool Ok, string Detail);
