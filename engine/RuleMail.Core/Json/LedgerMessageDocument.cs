using System.Text.Json;

namespace RuleMail.Json;

/// <summary>
/// One processed message of the ledger (<c>GET /api/v1/messages</c>): where it came from, its summary, its state, and
/// its current analysis — the security result and decision as stored (the contracts' JSON), its tags, and the side
/// effects that analysis planned with their outcomes.
/// </summary>
/// <param name="Id">Its id in the HTTP API (opaque, stable: the same message always has the same id).</param>
/// <param name="SourceKey">Its key in the folder it was fetched from (IMAP <c>UIDVALIDITY:UID</c>, POP3 UIDL, Maildir file name).</param>
/// <param name="From">The sender's address.</param>
/// <param name="State"><c>processing</c>, <c>retry</c>, <c>done</c> or <c>failed</c>.</param>
/// <param name="Status">The seed's words for its security result: <c>encrypted</c> or <c>decrypt-failed</c>, <c>signed</c> or <c>signature-failed</c>, or <c>plain</c>; empty when it was never analysed.</param>
/// <param name="Error">Why it failed (state <c>failed</c>) or what waits for the next attempt.</param>
/// <param name="Analysis">The current analysis' version (1 at fetch, then one per retry that changed it); null when never analysed.</param>
/// <param name="Security">The security result contract, as stored; null when never analysed.</param>
/// <param name="Decision">The merged decision, as stored; null when never analysed.</param>
/// <param name="Location">Where the message is now (a move took it elsewhere, or where it was fetched).</param>
/// <param name="Actions">The current analysis' side effects, in plan order.</param>
public sealed record LedgerMessageDocument(
    string Id,
    string Account,
    string Folder,
    string SourceKey,
    string? MessageId,
    string? Subject,
    string? From,
    DateTimeOffset FirstSeen,
    DateTimeOffset UpdatedAt,
    string State,
    IReadOnlyList<string> Status,
    int Attempts,
    DateTimeOffset? NextAttempt,
    string? Error,
    int? Analysis,
    JsonElement? Security,
    JsonElement? Decision,
    IReadOnlyList<string> Tags,
    LedgerLocationDocument Location,
    IReadOnlyList<LedgerActionDocument> Actions);
