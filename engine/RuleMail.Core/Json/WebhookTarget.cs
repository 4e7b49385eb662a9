using System.Text.Json.Serialization;
using RuleMail.Rules;

namespace RuleMail.Json;

/// <summary>
/// One webhook of a decision as JSON: a plain URL stays a string (the shape every reader knows); one with settings
/// is written as its map, <c>{"url": URL, "timeout": "20s", "secret_env": "VAR", "include": ["text"]}</c>, with only
/// the settings the rule gave. <c>secret_env</c> is the variable's name, never the secret.
/// </summary>
/// <param name="Timeout">The rule's timeout, null when it gave none (the default applies).</param>
/// <param name="SecretEnv">The variable holding the signing secret; null for an unsigned webhook.</param>
/// <param name="Include">What of the message the body carries besides the summary.</param>
[JsonConverter(typeof(WebhookTargetConverter))]
public sealed record WebhookTarget(string Url, TimeSpan? Timeout, string? SecretEnv = null, WebhookInclude Include = WebhookInclude.None)
{
    /// <summary>The target for <paramref name="url"/> with the rule's settings (null: a plain URL).</summary>
    public static WebhookTarget Of(string url, WebhookOptions? options) =>
        new(url, options?.Timeout, options?.SecretEnv, options?.Include ?? WebhookInclude.None);

    /// <summary>
    /// A webhook URL for logs, answers and the ledger: scheme, host and port only. User info, paths and queries often
    /// hold credentials or tokens (<c>https://user:pass@host/hooks/TOKEN?token=...</c>), so none of them is shown.
    /// </summary>
    public static string Redacted(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Authority.Split('@')[^1]}/…" : "(not a URL)";

    /// <summary>True when the rule gave no settings: written as the plain URL.</summary>
    public bool IsPlain => Timeout is null && SecretEnv is null && Include == WebhookInclude.None;

    /// <summary>The include list as a rule writes it, in a fixed order: <c>text</c>, <c>html</c>, <c>mime</c>.</summary>
    public IReadOnlyList<string> IncludeNames =>
    [
        .. new[] { (WebhookInclude.Text, "text"), (WebhookInclude.Html, "html"), (WebhookInclude.Mime, "mime") }
            .Where(p => Include.HasFlag(p.Item1)).Select(p => p.Item2),
    ];
}
