namespace RuleMail.Json;

/// <summary>The counts of a <see cref="RetryDocument"/>: judged (every message but the skipped), and each outcome; failed includes what was not found.</summary>
public sealed record RetrySummaryDocument(int Judged, int Changed, int Unchanged, int Skipped, int Failed);
