namespace RuleMail.Host.State;

/// <summary>
/// Which ledger entries <see cref="IStateStore.ListMessagesAsync"/> lists, newest first (by first seen, then by
/// account, folder and source key descending, so the order is total and a page boundary is exact).
/// </summary>
public sealed record LedgerPageQuery
{
    /// <summary>One account's entries; null for every account.</summary>
    public string? Account { get; init; }

    /// <summary>Entries whose current security result has any of these outcomes; empty for any (never-analysed entries included).</summary>
    public IReadOnlySet<SecurityOutcomeFilter> Security { get; init; } = new HashSet<SecurityOutcomeFilter>();

    /// <summary>Entries in any of these states; empty for any.</summary>
    public IReadOnlySet<MessageState> States { get; init; } = new HashSet<MessageState>();

    /// <summary>Entries first seen at or after this time; null for any.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>The entries after this one in the order (the previous page's last); null to start with the newest.</summary>
    public LedgerKey? After { get; init; }

    /// <summary>At most this many entries (at least 1).</summary>
    public int Limit { get; init; } = 50;
}
