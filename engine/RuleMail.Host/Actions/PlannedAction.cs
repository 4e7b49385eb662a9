namespace RuleMail.Host.Actions;

/// <summary>One side effect a handler plans: its target (keyword, folder, URL, address), what it sends, and a call's time limit.</summary>
internal sealed record PlannedAction(string Target, string? Payload = null, TimeSpan? Timeout = null);
