using MimeKit;

namespace RuleMail.Host.Transport;

/// <summary>Where an account's finished mail goes: an SMTP server or a pickup folder.</summary>
public interface IMailTransport : IAsyncDisposable
{
    /// <summary><c>smtp 127.0.0.1:587</c> or <c>pickup /var/spool/rulemail</c>: for reports.</summary>
    string Describe { get; }

    /// <summary>
    /// Makes sure the destination can be reached (SMTP: connected and logged in) before a message is handed over, so
    /// that a destination that is down is told apart from trouble with one message: the former never uses up a
    /// message's attempts. Transient trouble is a <see cref="MailSourceException"/>. A pickup folder needs nothing.
    /// </summary>
    Task ConnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Hands the message over. Transient trouble is a <see cref="MailSourceException"/>; a permanent refusal is a <see cref="MailRejectedException"/>.</summary>
    Task SendAsync(MimeMessage message, CancellationToken cancellationToken);

    /// <summary>True when the message with this Message-ID certainly arrived before (a pickup file exists); SMTP cannot tell and says false.</summary>
    bool AlreadyDelivered(string messageId);
}

/// <summary>The destination refused the message for good (an SMTP 5xx); retrying would not help.</summary>
public sealed class MailRejectedException : Exception
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
