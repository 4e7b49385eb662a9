using RuleMail.Host.State;

namespace RuleMail.Host.Processing;

/// <summary>
/// Which processed messages a retry judges again: without source keys, those whose latest analysis failed security (a
/// signature or a decryption); with them, those messages (only the failed ones among them with <see cref="SecurityFailed"/>).
/// </summary>
public sealed record RetrySelection
{
    /// <summary>Ledger entries by source key (as <c>run</c> prints them in brackets); empty for every security-failed one.</summary>
    public IReadOnlyList<string> SourceKeys { get; init; } = [];

    /// <summary>Only messages whose latest analysis failed security; implied when no source keys are given.</summary>
    public bool SecurityFailed { get; init; }

    /// <summary>The ledger query for one account's part of the selection.</summary>
    internal LedgerQuery For(string account) => new()
    {
        Account = account,
        SourceKeys = SourceKeys,
        SecurityFailed = SecurityFailed || SourceKeys.Count == 0,
    };
}
