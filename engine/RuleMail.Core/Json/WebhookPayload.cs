using System.Globalization;
using System.Text.Json.Serialization;
using MimeKit;
using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Json;

/// <summary>
/// The body a <c>webhook</c> decision POSTs: where the message was found, its summary, its security result (the
/// contract's shape), the decision, its tags and headers, and the rule errors. Every field is written (a null as
/// <c>null</c>) except <see cref="Analysis"/>, absent until analysis versions are passed on.
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
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Analysis = null)
{
    /// <summary>The payload for <paramref name="inspected"/> (the message as rules saw it and its security result).</summary>
    public static WebhookPayload Create(
        string account,
        string folder,
        string sourceKey,
        string? from,
        IncomingReport inspected,
        long size,
        RuleDecision decision,
        IReadOnlyList<string> ruleErrors,
        int? analysis = null)
    {
        ArgumentNullException.ThrowIfNull(inspected);
        ArgumentNullException.ThrowIfNull(decision);
        var message = inspected.Message;
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
            analysis);
    }

    private static string[] Addresses(InternetAddressList list) => [.. list.Mailboxes.Select(m => m.Address)];
}
