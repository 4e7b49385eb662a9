using RuleMail.Host.State;

namespace RuleMail.Host.Processing;

/// <summary>What one fetch run of one account did.</summary>
public sealed class FetchReport(string account, string source)
{
    public string Account { get; } = account;

    /// <summary><c>imap 127.0.0.1:143 (support) INBOX</c>, <c>maildir PATH</c>.</summary>
    public string Source { get; } = source;

    public List<ProcessedMessage> Messages { get; } = [];

    /// <summary>Messages listed but already finished in an earlier run.</summary>
    public int AlreadyDone { get; set; }

    /// <summary>Messages waiting for their next attempt (not yet due).</summary>
    public int Waiting { get; set; }

    /// <summary>In a cluster: messages this run put in the work queue for the nodes' workers.</summary>
    public int Queued { get; set; }

    /// <summary>In a cluster: another node holds the account's lease (it lists the mailbox now), so this run did nothing.</summary>
    public bool HeldElsewhere { get; set; }

    /// <summary>Why the run stopped early (server down, login refused); null when it ran through.</summary>
    public string? Error { get; set; }

    public int Count(MessageState state) => Messages.Count(m => m.State == state);
}
