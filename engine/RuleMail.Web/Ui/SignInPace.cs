namespace RuleMail.Web.Ui;

/// <summary>
/// At most <see cref="PerWindow"/> sign-ins per token within <see cref="Window"/>: a person signs in a few times a day,
/// while a loop of sign-ins and sign-outs with one live token would grow <see cref="EndedSessions"/> without end. The
/// count is per token name, so the table holds no more entries than the state has tokens. Thread-safe.
/// </summary>
internal sealed class SignInPace(TimeProvider time)
{
    public const int PerWindow = 20;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, (DateTimeOffset Ends, int Count)> _tokens = new(StringComparer.Ordinal);

    /// <summary>Counts a sign-in of <paramref name="token"/>; null when it may sign in, else how long until it may again.</summary>
    public TimeSpan? Take(string token)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (!_tokens.TryGetValue(token, out var pace) || pace.Ends <= now)
            {
                pace = (now + Window, 0);
            }

            if (pace.Count >= PerWindow)
            {
                return pace.Ends - now;
            }

            _tokens[token] = pace with { Count = pace.Count + 1 };
            return null;
        }
    }
}
