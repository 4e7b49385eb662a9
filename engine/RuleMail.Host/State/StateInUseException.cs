namespace RuleMail.Host.State;

/// <summary>
/// Another process holds the state's one-host lock (a running <c>rulemail run</c>, say): nothing may use the state
/// beside it. A front end that only wanted one job done (a retry) can say so in its own words.
/// </summary>
public sealed class StateInUseException : RuleMailException
{
    public StateInUseException()
    {
    }

    public StateInUseException(string message)
        : base(message)
    {
    }

    public StateInUseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The state database's path.</summary>
    public string? Path { get; init; }
}
