using System.Text.Json.Serialization;
using RuleMail.Rules;

namespace RuleMail.Json;

/// <summary>
/// A decision as JSON (ledger, webhooks, <c>check --json</c>): only the keys it sets, in the vocabulary's names and
/// order (DESIGN.md, "Rules"); an empty decision is <c>{}</c>.
/// </summary>
public sealed record DecisionDocument
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Sign { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Encrypt { get; init; }

    /// <summary><c>smime</c> or <c>pgp</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? SecurityType { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Flag { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Move { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Tag { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Header { get; init; }

    /// <summary>Each webhook: its URL as a string, or a map when the rule gave it settings.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<WebhookTarget>? Webhook { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Notify { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Hold { get; init; }

    /// <summary>True, or absent: a decision never says <c>"stop": false</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Stop { get; init; }

    /// <summary>The keys <paramref name="decision"/> sets; empty lists and maps are not set.</summary>
    public static DecisionDocument From(RuleDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        return new DecisionDocument
        {
            Sign = Name(decision.Sign),
            Encrypt = Name(decision.Encrypt),
            SecurityType = decision.SecurityType is { } type ? Crypto.SecurityTypes.Key(type) : null,
            Flag = decision.Flag.Count > 0 ? decision.Flag : null,
            Move = decision.Move,
            Tag = decision.Tag.Count > 0 ? decision.Tag : null,
            Header = decision.Header.Count > 0 ? decision.Header : null,
            Webhook = decision.Webhook.Count > 0
                ? [.. decision.Webhook.Select(url => WebhookTarget.Of(url, decision.WebhookOptions.GetValueOrDefault(url)))]
                : null,
            Notify = decision.Notify.Count > 0 ? decision.Notify : null,
            Hold = decision.Hold,
            Stop = decision.Stop ? true : null,
        };
    }

    /// <summary>
    /// This decision as an answer to someone below the admin shows it: each webhook URL reduced to its scheme, host
    /// and port (<see cref="WebhookTarget.Redacted"/>), since paths, queries and user info often hold credentials.
    /// </summary>
    public DecisionDocument Redacted() => Webhook is null
        ? this
        : this with { Webhook = [.. Webhook.Select(w => w with { Url = WebhookTarget.Redacted(w.Url) })] };

    private static string? Name(Preference? preference) => preference switch
    {
        null => null,
        Preference.Required => "required",
        Preference.Preferred => "preferred",
        _ => "never",
    };
}
