using RuleMail.Crypto;
using RuleMail.Host.State;

namespace RuleMail.Host.Processing;

/// <summary>One message a retry judged again: its analysis before and after, what was done, and where it is now.</summary>
public sealed record RetriedMessage
{
    public required string Account { get; init; }

    /// <summary>The folder it was fetched from (with <see cref="SourceKey"/>, its ledger identity).</summary>
    public required string Folder { get; init; }

    public required string SourceKey { get; init; }

    public string? Subject { get; init; }

    public string? From { get; init; }

    public required RetryOutcome Outcome { get; init; }

    /// <summary>The latest analysis before this retry.</summary>
    public int? PreviousVersion { get; init; }

    /// <summary>The new analysis' version when <see cref="RetryOutcome.Changed"/>; else the latest, unchanged.</summary>
    public int? Version { get; init; }

    public SecurityResult? SecurityBefore { get; init; }

    /// <summary>Null when it was not judged again (skipped, or not found).</summary>
    public SecurityResult? SecurityAfter { get; init; }

    /// <summary>The latest decision before, as stored (JSON).</summary>
    public string? DecisionBeforeJson { get; init; }

    /// <summary>The new decision (JSON); null when it was not judged again.</summary>
    public string? DecisionAfterJson { get; init; }

    /// <summary>Where the message is now, as far as known.</summary>
    public MessageLocation? Location { get; init; }

    /// <summary>Each side effect of the new plan and its outcome (<c>unflag security-failed: done</c>, <c>move INBOX: done</c>).</summary>
    public IReadOnlyList<string> Actions { get; init; } = [];

    /// <summary>The ledger state after the retry.</summary>
    public MessageState? State { get; init; }

    /// <summary>Why it was skipped or failed, or what waits for a later attempt.</summary>
    public string? Reason { get; init; }

    /// <summary>When a step that failed for now (a webhook that is down) is tried again, by the fetch of the scheduled host or <c>run --once</c>.</summary>
    public DateTimeOffset? NextAttempt { get; init; }

    /// <summary>Steps of the new plan refused for good (a webhook answering 4xx).</summary>
    public int FailedSteps { get; init; }
}
