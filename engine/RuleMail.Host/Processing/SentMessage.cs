using RuleMail.Host.State;

namespace RuleMail.Host.Processing;

/// <summary>One outbox file as a send run handled it.</summary>
public sealed record SentMessage(string FileName, string? Subject, string? To, OutboxState State, string? Reason)
{
    public DateTimeOffset? NextAttempt { get; init; }
}

/// <summary>What one send run of one account did.</summary>
public sealed class SendReport(string account, string destination)
{
    public string Account { get; } = account;

    public string Destination { get; } = destination;

    public List<SentMessage> Messages { get; } = [];

    /// <summary>Files waiting for their next attempt (not yet due).</summary>
    public int Waiting { get; set; }

    /// <summary>In a cluster: outbox files this run put in the work queue, which any node's workers then send.</summary>
    public int Queued { get; set; }

    /// <summary>In a cluster: another node holds the outbox's lease (it sends it now), so this run did nothing.</summary>
    public bool HeldElsewhere { get; set; }

    /// <summary>Why the run stopped early (SMTP down); null when it ran through.</summary>
    public string? Error { get; set; }

    public int Count(OutboxState state) => Messages.Count(m => m.State == state);
}
