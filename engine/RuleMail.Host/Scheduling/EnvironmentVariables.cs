namespace RuleMail.Host.Scheduling;

/// <summary>Where account passwords are read from: the process environment, or what a test gives.</summary>
internal sealed record EnvironmentVariables(Func<string, string?> Read);
