namespace RuleMail.Json;

/// <summary>
/// One job of an account (fetch or send) in a <see cref="ReadinessDocument"/>: not ok when its last run failed (the
/// server unreachable, the login refused); ok before its first run and when it is not scheduled (<c>rulemail serve</c>).
/// </summary>
/// <param name="LastRun">When its last run ended; null before the first, or when it is not scheduled.</param>
/// <param name="Error">Why its last run failed, in one line; null when it ran through.</param>
/// <param name="NextAttempt">When it is tried again after a failure (it waits with backoff); null when it did not fail.</param>
public sealed record JobReadiness(bool Ok, bool Scheduled, DateTimeOffset? LastRun, string? Error, DateTimeOffset? NextAttempt);
