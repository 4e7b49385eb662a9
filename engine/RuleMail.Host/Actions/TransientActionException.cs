namespace RuleMail.Host.Actions;

/// <summary>A webhook or notice could not be delivered right now; the message is retried with backoff.</summary>
internal sealed class TransientActionException : RuleMailException
{
    public TransientActionException()
    {
    }

    public TransientActionException(string message)
        : base(message)
    {
    }

    public TransientActionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
