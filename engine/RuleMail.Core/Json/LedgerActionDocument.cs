namespace RuleMail.Json;

/// <summary>One side effect an analysis planned for a message, and how it stands (its payload, which may hold message content, never leaves).</summary>
/// <param name="Analysis">The analysis version that planned it.</param>
/// <param name="Kind"><c>keyword</c>, <c>remove_keyword</c>, <c>move</c>, <c>webhook</c> or <c>notify</c>.</param>
/// <param name="Target">The keyword, folder, URL or address.</param>
/// <param name="State"><c>pending</c>, <c>done</c>, <c>failed</c> (for good) or <c>skipped</c> (the source cannot do it).</param>
/// <param name="Detail">What happened: the failure, or why it was skipped.</param>
public sealed record LedgerActionDocument(
    int Analysis,
    string Kind,
    string Target,
    string State,
    int Attempts,
    string? Detail,
    DateTimeOffset UpdatedAt);
