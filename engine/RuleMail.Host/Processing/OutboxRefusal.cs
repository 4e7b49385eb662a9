namespace RuleMail.Host.Processing;

/// <summary>Why <see cref="Outboxes"/> refused a request (the HTTP API answers each with its own status).</summary>
public enum OutboxRefusal
{
    /// <summary>Not refused.</summary>
    None,

    /// <summary>No account of that name in the configuration.</summary>
    UnknownAccount,

    /// <summary>The account has no <c>send.outbox</c>.</summary>
    AccountDoesNotSend,

    /// <summary>The body is not a mail message that could be sent (not MIME, no From or recipient, a bad choice header).</summary>
    NotAMessage,

    /// <summary>No outbox message has that id.</summary>
    UnknownId,

    /// <summary>The id names messages of several accounts: the account must be given.</summary>
    Ambiguous,

    /// <summary>The message is not in a state the request applies to (release: only held or failed ones).</summary>
    WrongState,

    /// <summary>The message's file is not where its state says, or another file of its name is in the way.</summary>
    FileMissing,
}
