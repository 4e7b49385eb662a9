namespace RuleMail.Json;

/// <summary>One ledger entry with its whole history (<c>GET /api/v1/messages/{id}</c>): the entry as the list shows it, and every analysis, oldest first, each with its side effects.</summary>
public sealed record LedgerEntryDocument(LedgerMessageDocument Message, IReadOnlyList<LedgerAnalysisDocument> Analyses);
