using RuleMail.Crypto;
using RuleMail.Host.State;

namespace RuleMail.Host.Processing;

/// <summary>One incoming message as a run saw it: what it is, its security result, what the rules decided and what was done.</summary>
public sealed record ProcessedMessage
{
    public required string SourceKey { get; init; }

    public string? Subject { get; init; }

    public string? From { get; init; }

    /// <summary>Null when the message could not be analysed (see <see cref="Error"/>).</summary>
    public SecurityResult? Security { get; init; }

    /// <summary>The merged rule decision in one line (<c>flag security-failed; move Quarantine; stop</c>).</summary>
    public string DecisionText { get; init; } = "nothing";

    public IReadOnlyList<string> Tags { get; init; } = [];

    public required MessageState State { get; init; }

    /// <summary>Each side effect's outcome, e.g. <c>move Quarantine: done</c>.</summary>
    public IReadOnlyList<string> Actions { get; init; } = [];

    public string? Error { get; init; }

    /// <summary>Steps of the plan that failed for good (a webhook answering 4xx or a redirect, say): the message is done, but not all was done.</summary>
    public int FailedSteps { get; init; }

    /// <summary>When a message in <see cref="MessageState.Retry"/> is tried again.</summary>
    public DateTimeOffset? NextAttempt { get; init; }

    /// <summary>True when the message was new this run; false when an earlier run's unfinished work was continued.</summary>
    public bool IsNew { get; init; } = true;
}
