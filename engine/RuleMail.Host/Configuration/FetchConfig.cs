namespace RuleMail.Host.Configuration;

/// <summary>Where and how often an account's incoming mail is fetched: exactly one of IMAP, POP3 or a Maildir.</summary>
public sealed class FetchConfig
{
    /// <summary>An interval such as <c>30s</c>, <c>5m</c> or <c>1h</c>.</summary>
    public string? Every { get; set; }

    /// <summary>A Quartz cron expression, instead of <see cref="Every"/>.</summary>
    public string? Cron { get; set; }

    public ServerConfig? Imap { get; set; }

    public ServerConfig? Pop3 { get; set; }

    public string? Maildir { get; set; }
}
