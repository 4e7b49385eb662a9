namespace RuleMail.Host.State;

/// <summary>
/// One analysis of a message: its security result and rule decision at that time. The first is made when the message
/// is fetched (version 1); each retry that comes to another result adds the next version. Side effects belong to the
/// analysis that planned them (<see cref="SideEffect.AnalysisVersion"/>), so each runs once per version.
/// </summary>
public sealed record MessageAnalysis
{
    public required string Account { get; init; }

    public required string Folder { get; init; }

    public required string SourceKey { get; init; }

    /// <summary>1 for the analysis at fetch, then 2, 3, ... one per retry that changed the result.</summary>
    public required int Version { get; init; }

    public required DateTimeOffset AnalysedAt { get; init; }

    public required AnalysisTrigger Trigger { get; init; }

    /// <summary>The security result as JSON (the contract's <c>security</c> object).</summary>
    public required string SecurityJson { get; init; }

    /// <summary>The merged rule decision as JSON.</summary>
    public required string DecisionJson { get; init; }

    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>True when the signature or the decryption failed (what <c>rulemail retry --security-failed</c> selects).</summary>
    public required bool SecurityFailed { get; init; }

    /// <summary>The analysis recorded in <paramref name="entry"/> (its security and decision JSON, its tags) as version <paramref name="version"/>.</summary>
    public static MessageAnalysis Of(LedgerEntry entry, int version, AnalysisTrigger trigger, bool securityFailed, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return new MessageAnalysis
        {
            Account = entry.Account,
            Folder = entry.Folder,
            SourceKey = entry.SourceKey,
            Version = version,
            AnalysedAt = at,
            Trigger = trigger,
            SecurityJson = entry.SecurityJson ?? throw new ArgumentException("the entry holds no analysis", nameof(entry)),
            DecisionJson = entry.DecisionJson ?? throw new ArgumentException("the entry holds no analysis", nameof(entry)),
            Tags = entry.Tags,
            SecurityFailed = securityFailed,
        };
    }
}
