namespace RuleMail.Host.Processing;

/// <summary>What a retry did with one message.</summary>
public enum RetryOutcome
{
    /// <summary>The new analysis differs: it was recorded as the next version and its plan carried out.</summary>
    Changed,

    /// <summary>Same security result and decision as the latest analysis: nothing recorded, nothing done.</summary>
    Unchanged,

    /// <summary>Not judged now (its plan is still being carried out, or it was never analysed); the reason says why.</summary>
    Skipped,

    /// <summary>It could not be judged (not found where it should be, a server failed) or a step of its new plan failed for good.</summary>
    Failed,
}
