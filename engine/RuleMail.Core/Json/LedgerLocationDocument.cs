namespace RuleMail.Json;

/// <summary>Where a message is now: its folder, and its key there (null when the server did not say; it is then found by Message-ID and content).</summary>
public sealed record LedgerLocationDocument(string Folder, string? Key);
