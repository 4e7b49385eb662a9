namespace RuleMail.Rules;

/// <summary>
/// How one webhook of a decision is called, when the rule gave a map
/// (<c>webhook: {url: URL, secret_env: VAR, include: [text, html, mime], timeout: 20s}</c>) rather than a plain URL.
/// </summary>
public sealed record WebhookOptions
{
    /// <summary>The default per-call timeout: a receiver that has not answered by then is retried with backoff.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The shortest and longest timeouts a rule may ask for.</summary>
    public static readonly TimeSpan MinTimeout = TimeSpan.FromMilliseconds(100);

    /// <inheritdoc cref="MinTimeout"/>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromMinutes(5);

    /// <summary>How long one call may take, connection to last byte of the answer; null means <see cref="DefaultTimeout"/>.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// The name of the environment variable holding the signing secret (never the secret: a rule file is no place for
    /// one). Read when the request is sent; null for an unsigned webhook.
    /// </summary>
    public string? SecretEnv { get; init; }

    /// <summary>What of the message the body carries besides its summary.</summary>
    public WebhookInclude Include { get; init; }

    /// <summary>True when nothing is set: the webhook is called as a plain URL would be.</summary>
    public bool IsDefault => Timeout is null && SecretEnv is null && Include == WebhookInclude.None;
}
