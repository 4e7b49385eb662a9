namespace RuleMail.Rules;

/// <summary>
/// What rules decide, in the vocabulary of DESIGN.md. Every key is optional. <see cref="Merge"/> combines
/// the decisions of several rules: <c>sign</c>/<c>encrypt</c> take the strongest preference; lists
/// (<c>flag</c>, <c>tag</c>, <c>webhook</c>, <c>notify</c>) accumulate without duplicates; single values
/// (<c>security_type</c>, <c>move</c>, <c>hold</c>), each <c>header</c> name and each webhook's settings keep the first
/// rule's value;
/// <c>stop</c> is true once any rule stopped.
/// </summary>
public sealed record RuleDecision
{
    public static RuleDecision Empty { get; } = new();

    public Preference? Sign { get; init; }

    public Preference? Encrypt { get; init; }

    /// <summary>The preferred type (<c>security_type: smime|pgp</c>).</summary>
    public Crypto.SecurityType? SecurityType { get; init; }

    public IReadOnlyList<string> Flag { get; init; } = [];

    public string? Move { get; init; }

    public IReadOnlyList<string> Tag { get; init; } = [];

    public IReadOnlyDictionary<string, string> Header { get; init; } = new Dictionary<string, string>();

    /// <summary>The webhooks' URLs, in order.</summary>
    public IReadOnlyList<string> Webhook { get; init; } = [];

    /// <summary>Settings of the webhooks that a rule gave as a map, by URL (the others use the defaults).</summary>
    public IReadOnlyDictionary<string, WebhookOptions> WebhookOptions { get; init; } = new Dictionary<string, WebhookOptions>();

    public IReadOnlyList<string> Notify { get; init; } = [];

    /// <summary>Why the message is held: outgoing, not sent; incoming, quarantined.</summary>
    public string? Hold { get; init; }

    public bool Stop { get; init; }

    /// <summary>True when no key is set.</summary>
    public bool IsEmpty =>
        Sign is null && Encrypt is null && SecurityType is null && Flag.Count == 0 && Move is null && Tag.Count == 0
        && Header.Count == 0 && Webhook.Count == 0 && Notify.Count == 0 && Hold is null && !Stop;

    /// <summary>This decision (made earlier) combined with <paramref name="later"/>.</summary>
    public RuleDecision Merge(RuleDecision later)
    {
        ArgumentNullException.ThrowIfNull(later);
        var headers = new Dictionary<string, string>(Header, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in later.Header)
        {
            headers.TryAdd(name, value);
        }

        // A URL keeps the settings of the first rule that named it, like the single values below.
        var webhookOptions = new Dictionary<string, WebhookOptions>(WebhookOptions, StringComparer.OrdinalIgnoreCase);
        foreach (var (url, options) in later.WebhookOptions)
        {
            if (!Webhook.Contains(url, StringComparer.OrdinalIgnoreCase))
            {
                webhookOptions.TryAdd(url, options);
            }
        }

        return new RuleDecision
        {
            Sign = Strongest(Sign, later.Sign),
            Encrypt = Strongest(Encrypt, later.Encrypt),
            SecurityType = SecurityType ?? later.SecurityType,
            Flag = Union(Flag, later.Flag),
            Move = Move ?? later.Move,
            Tag = Union(Tag, later.Tag),
            Header = headers,
            Webhook = Union(Webhook, later.Webhook),
            WebhookOptions = webhookOptions,
            Notify = Union(Notify, later.Notify),
            Hold = Hold ?? later.Hold,
            Stop = Stop || later.Stop,
        };
    }

    private static Preference? Strongest(Preference? first, Preference? second) =>
        first is null ? second : second is null ? first : (Preference)Math.Max((int)first, (int)second);

    private static string[] Union(IReadOnlyList<string> first, IReadOnlyList<string> second) =>
        [.. first.Concat(second).Distinct(StringComparer.OrdinalIgnoreCase)];
}
