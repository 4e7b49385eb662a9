namespace RuleMail.Rules;

/// <summary>
/// The rule set in force. Every use case reads <see cref="Current"/> once per message, so a message is judged by one
/// rule set from start to end; a reload swaps the whole set at once, and only for one that loaded without error.
/// </summary>
/// <remarks>Thread-safe.</remarks>
public sealed class RuleSetSource
{
    private volatile RuleSet _current;

    public RuleSetSource(RuleSet initial)
    {
        ArgumentNullException.ThrowIfNull(initial);
        _current = initial;
    }

    /// <summary>The rule set to judge the next message with.</summary>
    public RuleSet Current => _current;

    /// <summary>Puts <paramref name="next"/> in force for every message judged from now on.</summary>
    /// <exception cref="ArgumentException"><paramref name="next"/> has load errors: a broken set never replaces a good one.</exception>
    public void Replace(RuleSet next)
    {
        ArgumentNullException.ThrowIfNull(next);
        if (next.Errors.Count > 0)
        {
            throw new ArgumentException($"a rule set with load errors is never put in force: {next.Errors[0]}", nameof(next));
        }

        _current = next;
    }
}
