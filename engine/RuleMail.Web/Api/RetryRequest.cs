namespace RuleMail.Web.Api;

/// <summary>
/// The body of <c>POST /api/v1/retry</c>, as <c>rulemail retry</c>'s options: which account (every account that fetches
/// when null), which messages (their ids; every message whose security failed when none), and whether only those
/// whose security failed.
/// </summary>
internal sealed record RetryRequest
{
    public string? Account { get; init; }

    public bool? SecurityFailed { get; init; }

    public string[]? Messages { get; init; }
}
