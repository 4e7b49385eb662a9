namespace RuleMail;

/// <summary>
/// An operational failure with enough context (file, account, message, rule) to act on.
/// The message is one line meant for a person; it never contains secrets.
/// </summary>
public class RuleMailException : Exception
{
    public RuleMailException()
    {
    }

    public RuleMailException(string message)
        : base(message)
    {
    }

    public RuleMailException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
