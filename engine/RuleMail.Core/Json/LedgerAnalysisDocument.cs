using System.Text.Json;

namespace RuleMail.Json;

/// <summary>One analysis of a message: when and why it was made, its security result and decision as stored, its tags, and the side effects it planned.</summary>
/// <param name="Trigger"><c>fetch</c> (version 1) or <c>retry</c>.</param>
/// <param name="SecurityFailed">True when its signature or decryption failed.</param>
public sealed record LedgerAnalysisDocument(
    int Version,
    DateTimeOffset AnalysedAt,
    string Trigger,
    JsonElement Security,
    JsonElement Decision,
    IReadOnlyList<string> Tags,
    bool SecurityFailed,
    IReadOnlyList<LedgerActionDocument> Actions);
