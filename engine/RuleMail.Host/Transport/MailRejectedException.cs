namespace RuleMail.Host.Transport;

/// <summary>The destination refused the message for good (an SMTP 5xx); retrying would not help.</summary>
public sealed class MailRejectedException : TransportException
{
    public MailRejectedException()
    {
    }

    public MailRejectedException(string message)
        : base(message)
    {
    }

    public MailRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
