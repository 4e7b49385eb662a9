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

    private static bool IsOf(LedgerEntry entry, string account, string folder, string sourceKey) =>
        string.Equals(account, entry.Account, StringComparison.Ordinal)
        && string.Equals(folder, entry.Folder, StringComparison.Ordinal)
        && string.Equals(sourceKey, entry.SourceKey, StringComparison.Ordinal);
}
