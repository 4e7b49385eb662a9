namespace RuleMail.Host.Processing;

/// <summary>
/// What <see cref="Outboxes"/> did with a request: the message it is about (<see cref="Item"/>), or why it refused
/// (<see cref="Refusal"/> with one clear <see cref="Detail"/> line).
/// </summary>
public sealed record OutboxOutcome
{
    /// <summary>The message as it stands now; null when refused.</summary>
    public OutboxItem? Item { get; init; }

    public OutboxRefusal Refusal { get; init; }

    /// <summary>Why it was refused: one line for the caller; null when not refused.</summary>
    public string? Detail { get; init; }

    /// <summary>Enqueued before (the same content for the same account): nothing new was written, nothing is sent again.</summary>
    public bool Existing { get; init; }

    /// <summary>The account's send job was started for it (false under <c>rulemail serve</c>: the next <c>rulemail run</c> sends it).</summary>
    public bool Triggered { get; init; }

    internal static OutboxOutcome Refused(OutboxRefusal refusal, string detail) => new() { Refusal = refusal, Detail = detail };
}
