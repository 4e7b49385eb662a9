namespace RuleMail.Rules;

/// <summary>
/// How one webhook of a decision is called, when the rule gave a map (<c>webhook: {url: URL, timeout: 20s}</c>)
/// rather than a plain URL. <c>secret_env</c> and <c>include</c> (DESIGN.md) will join it.
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
}
