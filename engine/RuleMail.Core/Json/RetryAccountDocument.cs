namespace RuleMail.Json;

/// <summary>One account of a <see cref="RetryDocument"/>: where its mail was read, and why the retry stopped early (null when it ran through).</summary>
/// <param name="Source"><c>imap 127.0.0.1:143 (support) INBOX</c>, <c>maildir PATH</c>.</param>
public sealed record RetryAccountDocument(string Account, string Source, string? Error);
