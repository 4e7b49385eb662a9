namespace RuleMail.Rules;

/// <summary>
/// What of the message a webhook's body carries besides its summary (<c>include: [text, html, mime]</c>). Decrypted
/// content is only ever included when its integrity held (see <see cref="Json.WebhookContent"/>).
/// </summary>
[Flags]
public enum WebhookInclude
{
    None = 0,

    /// <summary><c>text</c>: the plain-text body.</summary>
    Text = 1,

    /// <summary><c>html</c>: the HTML body.</summary>
    Html = 2,

    /// <summary><c>mime</c>: the whole message, base64.</summary>
    Mime = 4,
}
