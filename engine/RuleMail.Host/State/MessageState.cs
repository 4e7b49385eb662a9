namespace RuleMail.Host.State;

/// <summary>Where an incoming message is in the pipeline.</summary>
public enum MessageState
{
    /// <summary>Result and side-effect plan recorded; some side effects may not have run yet.</summary>
    Processing,

    /// <summary>A transient failure (server, webhook, timeout); tried again at <see cref="LedgerEntry.NextAttempt"/>.</summary>
    Retry,

    /// <summary>Every side effect ran (or was given up with its reason recorded).</summary>
    Done,

    /// <summary>Poison: given up with <see cref="LedgerEntry.Error"/>; the message stays where it is.</summary>
    Failed,
}
