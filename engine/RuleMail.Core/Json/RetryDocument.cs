namespace RuleMail.Json;

/// <summary>
/// What <c>rulemail retry --json</c> prints and <c>POST /api/v1/retry</c> (and <c>/messages/{id}/retry</c>) answers:
/// each account judged again (its source, and why it stopped early), each message before and after, what was asked
/// for and not found, and the counts.
/// </summary>
/// <param name="NotFound">What was asked for that no processed message is (the CLI: source keys; the API: message ids).</param>
public sealed record RetryDocument(
    IReadOnlyList<RetryAccountDocument> Accounts,
    IReadOnlyList<RetryMessageDocument> Messages,
    IReadOnlyList<string> NotFound,
    RetrySummaryDocument Summary);
