namespace RuleMail.Host.State;

/// <summary>A message judged with nothing to do: its entry (<see cref="MessageState.Done"/>) and the analysis that left it so.</summary>
/// <remarks>Such analyses can be recorded together (<see cref="IStateStore.RecordDoneAnalysesAsync"/>): nothing was done for them
/// yet, so one lost before its commit is only judged again.</remarks>
public sealed record DoneAnalysis(LedgerEntry Entry, MessageAnalysis Analysis);
