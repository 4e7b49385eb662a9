namespace RuleMail.Json;

/// <summary>A page of the ledger, newest first (<c>GET /api/v1/messages</c>).</summary>
/// <param name="Next">The cursor of the next page (pass it as <c>after</c>); null on the last page.</param>
public sealed record LedgerListDocument(IReadOnlyList<LedgerMessageDocument> Messages, string? Next);
