namespace RuleMail.Json;

/// <summary>An account's jobs in a <see cref="ReadinessDocument"/>; a job the account does not have (no fetch, no outbox) is null.</summary>
public sealed record AccountReadiness(JobReadiness? Fetch, JobReadiness? Send);
