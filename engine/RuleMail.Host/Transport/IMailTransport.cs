using RuleMail.Application;

namespace RuleMail.Host.Transport;

/// <summary>Where an account's finished mail goes: an SMTP server or a pickup folder. Each copy of a message is handed over on its own.</summary>
internal interface IMailTransport : IAsyncDisposable
{
    /// <summary><c>smtp 127.0.0.1:587</c> or <c>pickup /var/spool/rulemail</c>: for reports.</summary>
    string Describe { get; }

    /// <summary>
    /// Makes sure the destination can be reached (SMTP: connected and logged in) before a message is handed over, so
    /// that a destination that is down is told apart from trouble with one message: the former never uses up a
    /// message's attempts. Transient trouble is a <see cref="MailSourceException"/>. A pickup folder needs nothing.
    /// </summary>
    Task ConnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Hands one copy over, to exactly its <see cref="OutgoingCopy.Recipients"/> (SMTP: the envelope; no Bcc header is
    /// transmitted). Transient trouble is a <see cref="MailSourceException"/>; a permanent refusal is a <see cref="MailRejectedException"/>.
    /// </summary>
    Task SendAsync(OutgoingCopy copy, CancellationToken cancellationToken);

    /// <summary>True when this copy (its Message-ID and <see cref="OutgoingCopy.Key"/>) certainly arrived before (a pickup file exists); SMTP cannot tell and says false.</summary>
    bool AlreadyDelivered(OutgoingCopy copy);
}
