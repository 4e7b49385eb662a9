namespace RuleMail.Host.State;

/// <summary>One message a ticket system dropped in an account's outbox, identified by file name and content hash.</summary>
public sealed record OutboxEntry
{
    public required string Account { get; init; }

    public required string FileName { get; init; }

    /// <summary>SHA-256 of the file as dropped, lowercase hex.</summary>
    public required string ContentHash { get; init; }

    public string? MessageId { get; init; }

    public required OutboxState State { get; init; }

    /// <summary>Why it is held or failed; what was done when sent (e.g. "signed and encrypted with S/MIME").</summary>
    public string? Reason { get; init; }

    public int Attempts { get; init; }

    public DateTimeOffset? NextAttempt { get; init; }

    /// <summary>
    /// The <see cref="RuleMail.Application.OutgoingCopy.Key"/>s of the copies the server accepted (or the pickup folder
    /// holds), in the order they went: a message with Bcc recipients goes out as several copies, and one that stops
    /// part-way (a 4xx, a refused Bcc recipient, a crash) sends only the others when it is tried again. Compared by
    /// reference like any list in a record: compare it on its own.
    /// </summary>
    public IReadOnlyList<string> Delivered { get; init; } = [];

    public required DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>Where an outbox message stands.</summary>
public enum OutboxState
{
    Queued,

    /// <summary>Being handed to SMTP or the pickup folder; on restart it is checked, not blindly resent.</summary>
    Sending,
    Sent,

    /// <summary>Not sent, with its reason (rules hold it, or a required signature or encryption is impossible).</summary>
    Held,

    /// <summary>Transient failures: retried with backoff until the attempts run out, then failed for good with the reason.</summary>
    Failed,
}
