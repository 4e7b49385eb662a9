namespace RuleMail.Host.State;

/// <summary>
/// What an HTTP API token may do; each role can do everything of the ones before it. A viewer reads (options, the
/// ledger, the outbox, keys, health); an agent also checks, composes, enqueues and releases outgoing mail; an admin
/// also imports and removes keys and judges messages again.
/// </summary>
public enum ApiRole
{
    Viewer,
    Agent,
    Admin,
}
