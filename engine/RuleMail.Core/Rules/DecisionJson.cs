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
        Set("webhook", document.Webhook?.Select(w => w.IsPlain ? (object)w.Url : Settings(w)).ToList());
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
            ? string.Join(", ", webhooks.Select(w => w.IsPlain ? w.Url : $"{w.Url} ({Describe(w)})"))
            : null);
        Add("notify", List(document.Notify));
        Add("hold", document.Hold);
        if (document.Stop is true)
        {
            parts.Add("stop");
        }

        return parts.Count == 0 ? "nothing" : string.Join("; ", parts);
    }

    /// <summary>A webhook's settings as a map in the rule's names (the order <see cref="WebhookTarget"/>'s JSON has).</summary>
    private static Dictionary<string, object> Settings(WebhookTarget webhook)
    {
        var settings = new Dictionary<string, object> { ["url"] = webhook.Url };
        if (webhook.Timeout is { } timeout)
        {
            settings["timeout"] = Duration(timeout);
        }

        if (webhook.SecretEnv is { } secretEnv)
        {
            settings["secret_env"] = secretEnv;
        }

        if (webhook.Include != WebhookInclude.None)
        {
            settings["include"] = webhook.IncludeNames;
        }

        return settings;
    }

    /// <summary>A webhook's settings for people: <c>timeout 20s, signed, include text, html</c> (the variable is not named).</summary>
    private static string Describe(WebhookTarget webhook)
    {
        var parts = new List<string>();
        if (webhook.Timeout is { } timeout)
        {
            parts.Add($"timeout {Duration(timeout)}");
        }

        if (webhook.SecretEnv is not null)
        {
            parts.Add("signed");
        }

        if (webhook.Include != WebhookInclude.None)
        {
            parts.Add($"include {string.Join(", ", webhook.IncludeNames)}");
        }

        return string.Join(", ", parts);
    }

    /// <summary>A timeout as a rule writes it: <c>20s</c>, <c>1500ms</c>.</summary>
    public static string Duration(TimeSpan timeout) =>
        timeout.Milliseconds == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{(long)timeout.TotalSeconds}s")
            : string.Create(CultureInfo.InvariantCulture, $"{(long)timeout.TotalMilliseconds}ms");
}
