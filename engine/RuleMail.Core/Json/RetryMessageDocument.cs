using System.Text.Json;
using RuleMail.Crypto;

namespace RuleMail.Json;

/// <summary>One message a retry judged again (or skipped, or could not find): its analysis, security result and decision before and after, what was done, and where it is now.</summary>
/// <param name="Id">The ledger entry's id in the HTTP API (<c>/api/v1/messages/{id}</c>).</param>
/// <param name="Outcome"><c>changed</c>, <c>unchanged</c>, <c>skipped</c> or <c>failed</c>.</param>
/// <param name="Decision">The decisions as the ledger stores them (the decision contract's JSON).</param>
/// <param name="Actions">Each side effect of the new plan and its outcome (<c>unflag security-failed: done</c>).</param>
/// <param name="State">The ledger state after the retry: <c>processing</c>, <c>retry</c>, <c>done</c>, <c>failed</c>.</param>
/// <param name="Reason">Why it was skipped or failed, or what waits for a later attempt.</param>
/// <param name="NextAttempt">When a step that failed for now is tried again (by the next fetch).</param>
public sealed record RetryMessageDocument(
    string Id,
    string Account,
    string Folder,
    string SourceKey,
    string? Subject,
    string? From,
    string Outcome,
    BeforeAfter<int?> Analysis,
    BeforeAfter<SecurityResult?> Security,
    BeforeAfter<JsonElement?> Decision,
    LedgerLocationDocument? Location,
    IReadOnlyList<string> Actions,
    string? State,
    string? Reason,
    DateTimeOffset? NextAttempt);
