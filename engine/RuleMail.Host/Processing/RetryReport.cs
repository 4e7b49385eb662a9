namespace RuleMail.Host.Processing;

/// <summary>What one retry of one account did.</summary>
public sealed class RetryReport(string account, string source)
{
    public string Account { get; } = account;

    /// <summary><c>imap 127.0.0.1:143 (support) INBOX</c>, <c>maildir PATH</c>.</summary>
    public string Source { get; } = source;

    public List<RetriedMessage> Messages { get; } = [];

    /// <summary>Why the retry stopped early (the server was down, the mailbox went away); null when it ran through.</summary>
    public string? Error { get; set; }

    public int Count(RetryOutcome outcome) => Messages.Count(m => m.Outcome == outcome);
}
