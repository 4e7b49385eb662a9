namespace RuleMail.Host.State;

/// <summary>Which analysed ledger entries <see cref="IStateStore.AnalysedMessagesAsync"/> lists (what a retry judges again).</summary>
public sealed record LedgerQuery
{
    /// <summary>One account's entries; null for every account.</summary>
    public string? Account { get; init; }

    /// <summary>Only the entries with these source keys (in any folder); empty for any.</summary>
    public IReadOnlyCollection<string> SourceKeys { get; init; } = [];

    /// <summary>Only the entries whose current analysis failed security (a signature or a decryption).</summary>
    public bool SecurityFailed { get; init; }
}
