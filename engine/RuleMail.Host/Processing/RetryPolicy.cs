namespace RuleMail.Host.Processing;

/// <summary>How often a failing message, outbox file or account is tried again, and when it is given up.</summary>
internal sealed record RetryPolicy
{
    public static RetryPolicy Default { get; } = new();

    /// <summary>The wait after the first failure; it doubles with each further failure.</summary>
    public TimeSpan FirstDelay { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromHours(1);

    /// <summary>A message or outbox file that failed this many times is recorded as failed for good (poison) and left where it is.</summary>
    public int MaxAttempts { get; init; } = 8;

    /// <summary>The wait after the <paramref name="attempts"/>-th failure.</summary>
    public TimeSpan Delay(int attempts)
    {
        var exponent = Math.Clamp(attempts - 1, 0, 20);
        var delay = FirstDelay * Math.Pow(2, exponent);
        return delay < MaxDelay ? delay : MaxDelay;
    }
}
