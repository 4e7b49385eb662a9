namespace RuleMail.Host.State;

/// <summary>What every state store checks before it records a message with its plan or its next analysis (caller bugs, not data).</summary>
internal static class RecordChecks
{
    /// <exception cref="ArgumentException">A side effect of the plan belongs to another message.</exception>
    public static void Plan(LedgerEntry entry, IReadOnlyList<SideEffect> plan)
    {
        foreach (var effect in plan)
        {
            if (!IsOf(entry, effect.Account, effect.Folder, effect.SourceKey))
            {
                throw new ArgumentException(
                    $"side effect {effect.IdempotencyKey} belongs to {effect.Account}/{effect.Folder}/{effect.SourceKey}, "
                    + $"not to {entry.Account}/{entry.Folder}/{entry.SourceKey}",
                    nameof(plan));
            }
        }
    }

    /// <exception cref="ArgumentException">The analysis or a side effect of the plan belongs to another message or version.</exception>
    public static void Analysis(LedgerEntry entry, MessageAnalysis analysis, IReadOnlyList<SideEffect> plan)
    {
        Plan(entry, plan);
        if (!IsOf(entry, analysis.Account, analysis.Folder, analysis.SourceKey) || entry.AnalysisVersion != analysis.Version || analysis.Version < 1)
        {
            throw new ArgumentException(
                $"analysis {analysis.Version} of {analysis.Account}/{analysis.Folder}/{analysis.SourceKey} does not fit the entry "
                + $"{entry.Account}/{entry.Folder}/{entry.SourceKey} at analysis {entry.AnalysisVersion}", nameof(analysis));
        }

        if (plan.FirstOrDefault(e => e.AnalysisVersion != analysis.Version) is { } stray)
        {
            throw new ArgumentException($"side effect {stray.IdempotencyKey} belongs to analysis {stray.AnalysisVersion}, not {analysis.Version}", nameof(plan));
        }
    }

    /// <exception cref="ArgumentException">An analysis does not fit its entry, an entry is not done, or a message comes twice.</exception>
    public static void Done(IReadOnlyList<DoneAnalysis> analyses)
    {
        var messages = new HashSet<(string, string, string)>();
        foreach (var (entry, analysis) in analyses)
        {
            ArgumentNullException.ThrowIfNull(entry, nameof(analyses));
            ArgumentNullException.ThrowIfNull(analysis, nameof(analyses));
            Analysis(entry, analysis, []);
            if (entry.State != MessageState.Done)
            {
                throw new ArgumentException($"{entry.Account}/{entry.Folder}/{entry.SourceKey} is {entry.State}, not done: record it with its plan", nameof(analyses));
            }

            if (!messages.Add((entry.Account, entry.Folder, entry.SourceKey)))
            {
                throw new ArgumentException($"{entry.Account}/{entry.Folder}/{entry.SourceKey} comes twice", nameof(analyses));
            }
        }
    }

    private static bool IsOf(LedgerEntry entry, string account, string folder, string sourceKey) =>
        string.Equals(account, entry.Account, StringComparison.Ordinal)
        && string.Equals(folder, entry.Folder, StringComparison.Ordinal)
        && string.Equals(sourceKey, entry.SourceKey, StringComparison.Ordinal);
}
