using System.Globalization;
using RuleMail.Json;

namespace RuleMail.Rules;

/// <summary>
/// A merged decision in the vocabulary's names: as JSON (ledger, webhooks, <c>check --json</c>) and as one line for
/// people. The shape is <see cref="DecisionDocument"/>'s, written by <see cref="ContractJson"/>.
/// </summary>
public static class DecisionJson
{
    /// <summary>The decision as the contract's JSON: only the keys it sets, compact.</summary>
    public static string Serialize(RuleDecision decision) => ContractJson.Serialize(DecisionDocument.From(decision));

    /// <summary>
    /// Only the keys a decision sets, in the vocabulary's names, as a map for documents still built as dictionaries;
    /// it serializes to the same JSON as <see cref="DecisionDocument"/> (a plain webhook URL a string, one with settings a map).
    /// </summary>
    public static Dictionary<string, object> Decision(RuleDecision decision)
    {
        var document = DecisionDocument.From(decision);
        var json = new Dictionary<string, object>();
        void Set(string key, object? value)
        {
            if (value is not null)
            {
                json[key] = value;
            }
        }

        Set("sign", document.Sign);
        Set("encrypt", document.Encrypt);
        Set("security_type", document.SecurityType);
        Set("flag", document.Flag);
        Set("move", document.Move);
        Set("tag", document.Tag);
        Set("header", document.Header);
        Set("webhook", document.Webhook?.Select(w => w.Timeout is { } timeout
            ? (object)new Dictionary<string, string> { ["url"] = w.Url, ["timeout"] = Duration(timeout) }
            : w.Url).ToList());
        Set("notify", document.Notify);
        Set("hold", document.Hold);
        Set("stop", document.Stop);
        return json;
    }

    /// <summary>A decision in one line: <c>flag security-failed; move Quarantine; stop</c>.</summary>
    public static string Describe(RuleDecision decision)
    {
        var document = DecisionDocument.From(decision);
        var parts = new List<string>();
        void Add(string key, string? text)
        {
            if (text is not null)
            {
                parts.Add($"{key} {text}");
            }
        }

        static string? List(IReadOnlyList<string>? values) => values is null ? null : string.Join(", ", values);

        Add("sign", document.Sign);
        Add("encrypt", document.Encrypt);
        Add("security_type", document.SecurityType);
        Add("flag", List(document.Flag));
        Add("move", document.Move);
        Add("tag", List(document.Tag));
        Add("header", document.Header is { } headers ? string.Join(", ", headers.Select(h => $"{h.Key}: {h.Value}")) : null);
        Add("webhook", document.Webhook is { } webhooks
            ? string.Join(", ", webhooks.Select(w => w.Timeout is { } timeout ? $"{w.Url} (timeout {Duration(timeout)})" : w.Url))
            : null);
        Add("notify", List(document.Notify));
        Add("hold", document.Hold);
        if (document.Stop is true)
        {
            parts.Add("stop");
        }

        return parts.Count == 0 ? "nothing" : string.Join("; ", parts);
    }

    /// <summary>A timeout as a rule writes it: <c>20s</c>, <c>1500ms</c>.</summary>
    public static string Duration(TimeSpan timeout) =>
        timeout.Milliseconds == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{(long)timeout.TotalSeconds}s")
            : string.Create(CultureInfo.InvariantCulture, $"{(long)timeout.TotalMilliseconds}ms");
}
