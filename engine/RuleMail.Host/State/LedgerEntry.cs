namespace RuleMail.Host.State;

/// <summary>One incoming message the host has seen, identified by account, folder and source key.</summary>
public sealed record LedgerEntry
{
    public required string Account { get; init; }

    /// <summary>The IMAP folder, <c>POP3</c>, or the Maildir folder (<c>INBOX</c> for its root).</summary>
    public required string Folder { get; init; }

    /// <summary>Unique in the folder: <c>UIDVALIDITY:UID</c> for IMAP, the UIDL for POP3, the unique file name for Maildir.</summary>
    public required string SourceKey { get; init; }

    public uint? UidValidity { get; init; }

    public uint? Uid { get; init; }

    public string? MessageId { get; init; }

    /// <summary>SHA-256 of the raw message, lowercase hex.</summary>
    public required string ContentHash { get; init; }

    public required MessageState State { get; init; }

    public int Attempts { get; init; }

    public DateTimeOffset? NextAttempt { get; init; }

    public string? Error { get; init; }

    /// <summary>The security result as JSON (the contract's <c>security</c> object).</summary>
    public string? SecurityJson { get; init; }

    /// <summary>The merged rule decision as JSON.</summary>
    public string? DecisionJson { get; init; }

    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>
    /// The version of the analysis <see cref="SecurityJson"/>, <see cref="DecisionJson"/> and <see cref="Tags"/> come from
    /// (see <see cref="MessageAnalysis"/>); null while the message was never analysed.
    /// </summary>
    public int? AnalysisVersion { get; init; }

    /// <summary>Where the message is now when a move took it elsewhere; null while it is where it was fetched.</summary>
    public MessageLocation? Location { get; init; }

    public string? Subject { get; init; }

    public string? From { get; init; }

    public required DateTimeOffset FirstSeen { get; init; }

    public required DateTimeOffset UpdatedAt { get; init; }
}
