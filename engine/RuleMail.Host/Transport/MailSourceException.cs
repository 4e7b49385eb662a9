namespace RuleMail.Host.Transport;

/// <summary>A source or destination server could not be used right now (down, refused the login, timed out); the run is retried with backoff.</summary>
public sealed class MailSourceException : TransportException
{
    public MailSourceException()
    {
    }

    public MailSourceException(string message)
        : base(message)
    {
    }

    public MailSourceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
