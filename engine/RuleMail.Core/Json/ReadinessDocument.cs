namespace RuleMail.Json;

/// <summary>
/// What <c>GET /readyz</c> answers (200 when <see cref="Ready"/>, 503 when not): whether the service can do its work,
/// and each check behind that — the key store, the state, the rules and every account's fetch and send jobs.
/// </summary>
public sealed record ReadinessDocument(bool Ready, ReadinessChecks Checks);
