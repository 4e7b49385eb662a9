namespace RuleMail.Json;

/// <summary>What <c>GET /api/v1/outbox</c> answers: the selected outbox messages, most recently changed first.</summary>
public sealed record OutboxListDocument(IReadOnlyList<OutboxEntryDocument> Outbox);
