namespace RuleMail.Host.Configuration;

/// <summary>Where an account's outgoing mail comes from (an outbox folder) and goes to (SMTP or a pickup folder).</summary>
public sealed class SendConfig
{
    public string? Every { get; set; }

    public string? Cron { get; set; }

    public string? Outbox { get; set; }

    public ServerConfig? Smtp { get; set; }

    public string? Pickup { get; set; }

    /// <summary>Keep a copy of each sent message (as sent) in this folder of the account's IMAP server (<c>fetch.imap</c>).</summary>
    public string? SentFolder { get; set; }
}
