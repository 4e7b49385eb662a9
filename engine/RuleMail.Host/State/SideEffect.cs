namespace RuleMail.Host.State;

/// <summary>One planned action on a message; it runs at most once to success, tracked by its idempotency key.</summary>
public sealed record SideEffect
{
    /// <summary>
    /// Unique across the store, derived from the message, the kind, the target and, from version 2 on, the analysis
    /// version (version 1 keys predate versions and stay as they were); also sent to webhooks.
    /// </summary>
    public required string IdempotencyKey { get; init; }

    public required string Account { get; init; }

    public required string Folder { get; init; }

    public required string SourceKey { get; init; }

    /// <summary>The analysis that planned it (<see cref="MessageAnalysis.Version"/>): 1 at fetch, 2 and on for retries.</summary>
    public int AnalysisVersion { get; init; } = 1;

    /// <summary>Position in its analysis' plan: side effects run in this order (the move is last).</summary>
    public required int Order { get; init; }

    public required SideEffectKind Kind { get; init; }

    /// <summary>The keyword, folder, URL or address.</summary>
    public required string Target { get; init; }

    /// <summary>What to send (the webhook's JSON body, the notice), fixed when planned so a retry sends the same.</summary>
    public string? Payload { get; init; }

    public required SideEffectState State { get; init; }

    /// <summary>For a webhook: how long one call may take (the rule's <c>timeout</c>); null for the default.</summary>
    public TimeSpan? Timeout { get; init; }

    public int Attempts { get; init; }

    /// <summary>What happened: the failure, or why it was skipped.</summary>
    public string? Detail { get; init; }

    public required DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>The kinds of action a rule decision plans.</summary>
public enum SideEffectKind
{
    Keyword,
    Webhook,
    Notify,
    Move,

    /// <summary>Removes a keyword an earlier analysis set and the new one does not (retry).</summary>
    RemoveKeyword,
}

/// <summary>Where a side effect stands.</summary>
public enum SideEffectState
{
    Pending,
    Done,

    /// <summary>Refused for good (for example a webhook answering 400); recorded, not retried.</summary>
    Failed,

    /// <summary>The source cannot do it (POP3 has no keywords or folders); recorded with the reason.</summary>
    Skipped,
}
