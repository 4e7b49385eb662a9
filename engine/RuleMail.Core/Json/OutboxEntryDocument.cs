namespace RuleMail.Json;

/// <summary>
/// One outbox message as the HTTP API shows it (<c>GET /api/v1/outbox/{id}</c>, each element of the list, and the answer
/// to enqueueing and releasing): where it stands and why, with the subject and To/Cc addresses of its file when the
/// file is still there (null otherwise). Bcc recipients are never shown.
/// </summary>
/// <param name="Id">The message's id: its file name in the outbox without <c>.eml</c>.</param>
/// <param name="State"><c>queued</c>, <c>sending</c>, <c>sent</c>, <c>held</c> or <c>failed</c>.</param>
/// <param name="Reason">Why it is held or failed; what was done when sent (e.g. "signed and encrypted with S/MIME"); what it waits for when queued.</param>
/// <param name="Attempts">Failed attempts to hand it to the server so far.</param>
/// <param name="NextAttempt">When a queued message is tried again after a failed attempt; null when at the next run.</param>
/// <param name="MessageId">The Message-ID it goes out with, once known.</param>
/// <param name="Location">Where this document is: <c>/api/v1/outbox/{id}</c>.</param>
public sealed record OutboxEntryDocument(
    string Id,
    string Account,
    string State,
    string? Reason,
    int Attempts,
    DateTimeOffset? NextAttempt,
    DateTimeOffset UpdatedAt,
    string? MessageId,
    string? Subject,
    IReadOnlyList<string>? To,
    string Location);
