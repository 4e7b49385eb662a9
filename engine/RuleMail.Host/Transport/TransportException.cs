namespace RuleMail.Host.Transport;

/// <summary>
/// The transports' one exception family: a mail server or folder that fetches or delivers mail could not be used.
/// <see cref="MailSourceException"/> is trouble that may pass (retried with backoff); <see cref="MailRejectedException"/>
/// a permanent refusal of one message. Callers catch the one they can act on; the message is one line with the server
/// or folder, never a secret.
/// </summary>
public abstract class TransportException : RuleMailException
{
    protected TransportException()
    {
    }

    protected TransportException(string message)
        : base(message)
    {
    }

    protected TransportException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
