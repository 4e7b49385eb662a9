using System.Globalization;
using System.Text.Json.Serialization;
using MimeKit;
using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Json;

/// <summary>
/// The body a <c>webhook</c> decision POSTs: where the message was found, its summary, its security result (the
/// contract's shape), the decision, its tags and headers, and the rule errors. Every field is written (a null as
/// <c>null</c>) except those after <see cref="RuleErrors"/>, absent when not given: the analysis version, the
/// call's idempotency key, and what <c>include</c> asked for (<see cref="Content"/>, <see cref="Text"/>,
/// <see cref="Html"/>, <see cref="Mime"/>; see <see cref="WebhookContent"/> for what a message that failed a check gives).
/// </summary>
/// <param name="SourceKey">The message's key in its folder (IMAP <c>UIDVALIDITY:UID</c>, POP3 UIDL, Maildir file name).</param>
/// <param name="From">The sender's address as the ledger keeps it.</param>
/// <param name="To">The To addresses (bare addresses, no names).</param>
/// <param name="Cc">The Cc addresses (bare addresses, no names).</param>
/// <param name="Date">The Date header in ISO 8601 round-trip form (<c>2026-12-03T14:24:44.0000000+00:00</c>); null without one.</param>
/// <param name="Size">The message's size in bytes, as received.</param>
/// <param name="Tags">The decision's tags (also in <see cref="Decision"/>; here always a list, possibly empty).</param>
/// <param name="Headers">The headers the decision adds (always a map, possibly empty).</param>
/// <param name="RuleErrors">The errors of rules that failed and were skipped.</param>
/// <param name="Analysis">The analysis version of the message this call belongs to; absent when not given.</param>
/// <param name="IdempotencyKey">The call's key (also the <c>Idempotency-Key</c> header), inside what a signature covers.</param>
/// <param name="Content">With <c>include</c>: <c>decrypted</c>, <c>received</c> (not encrypted) or <c>withheld</c> (encrypted, plaintext not released).</param>
/// <param name="Text">With <c>include: text</c>: the plain-text body; absent without one or when withheld.</param>
/// <param name="Html">With <c>include: html</c>: the HTML body; absent without one or when withheld.</param>
/// <param name="Mime">With <c>include: mime</c>: the whole message, base64 (when withheld: as received, still encrypted).</param>
public sealed record WebhookPayload(
    string Account,
    string Folder,
    string SourceKey,
    string? MessageId,
    string? From,
    IReadOnlyList<string> To,
    IReadOnlyList<string> Cc,
    string? Subject,
    string? Date,
    long Size,
    SecurityResult Security,
    DecisionDocument Decision,
    IReadOnlyList<string> Tags,
    IReadOnlyDictionary<string, string> Headers,
    IReadOnlyList<string> RuleErrors,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Analysis = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? IdempotencyKey = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Text = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Html = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Mime = null)
{
    /// <summary>The payload for <paramref name="inspected"/> (the message as rules saw it and its security result).</summary>
    /// <param name="include">What of the message to carry; decrypted content only when its integrity held.</param>
    /// <param name="received">The message as received (seekable), for <c>mime</c> of a message whose plaintext is withheld.</param>
    public static WebhookPayload Create(
        string account,
        string folder,
        string sourceKey,
        string? from,
        IncomingReport inspected,
        long size,
        RuleDecision decision,
        IReadOnlyList<string> ruleErrors,
        int? analysis = null,
        string? idempotencyKey = null,
        WebhookInclude include = WebhookInclude.None,
        Stream? received = null)
    {
        ArgumentNullException.ThrowIfNull(inspected);
        ArgumentNullException.ThrowIfNull(decision);
        var message = inspected.Message;
        var content = WebhookContent.Of(inspected, received, include);
        return new WebhookPayload(
            account,
            folder,
            sourceKey,
            message.MessageId,
            from,
            Addresses(message.To),
            Addresses(message.Cc),
            message.Subject,
            message.Date == DateTimeOffset.MinValue ? null : message.Date.ToString("O", CultureInfo.InvariantCulture),
            size,
            inspected.Security,
            DecisionDocument.From(decision),
            decision.Tag,
            decision.Header,
            ruleErrors,
            analysis,
            idempotencyKey,
            content?.Kind,
            content?.Text,
            content?.Html,
            content?.Mime);
    }

    private static string[] Addresses(InternetAddressList list) => [.. list.Mailboxes.Select(m => m.Address)];
}
