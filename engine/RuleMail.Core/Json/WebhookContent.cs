using MimeKit;
using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Json;

/// <summary>
/// What of a message a webhook's body carries (<c>include</c>), and which message that is. Decrypted content leaves
/// RuleMail only when its integrity is established — authenticated encryption or OpenPGP's MDC, or a valid signature
/// over the decrypted content — never when decryption failed or the plaintext could have been changed on the way
/// (EFAIL: CBC-only S/MIME without a signature, OpenPGP without MDC). Such a message is <see cref="Withheld"/>: no text,
/// no HTML, and <c>mime</c> is the message as received, still encrypted.
/// </summary>
/// <param name="Kind"><see cref="Decrypted"/>, <see cref="Received"/> or <see cref="Withheld"/>.</param>
/// <param name="Text">The plain-text body, when asked for and there is one.</param>
/// <param name="Html">The HTML body, when asked for and there is one.</param>
/// <param name="Mime">The whole message as base64, when asked for.</param>
internal sealed record WebhookContent(string Kind, string? Text, string? Html, string? Mime)
{
    /// <summary>The content is the decrypted message, its integrity established.</summary>
    public const string Decrypted = "decrypted";

    /// <summary>The message was not encrypted: the content is the message as received.</summary>
    public const string Received = "received";

    /// <summary>The message was encrypted and its plaintext is not released: only <c>mime</c>, the message as received.</summary>
    public const string Withheld = "withheld";

    /// <summary>Lines end in CRLF, as on the wire (RFC 5322) and as signatures cover them.</summary>
    private static readonly FormatOptions Wire = CreateWire();

    /// <summary>
    /// The content <paramref name="include"/> asks for; null when it asks for nothing.
    /// </summary>
    /// <param name="inspected">The security result and the message as rules saw it.</param>
    /// <param name="received">The message as received (seekable), for <c>mime</c> of a withheld message; read from its start.</param>
    public static WebhookContent? Of(IncomingReport inspected, Stream? received, WebhookInclude include)
    {
        ArgumentNullException.ThrowIfNull(inspected);
        if (include == WebhookInclude.None)
        {
            return null;
        }

        var (security, view) = (inspected.Security, inspected.Message);
        var kind = security.Encryption is null ? Received : Integrity.Held(security) ? Decrypted : Withheld;
        if (kind == Withheld)
        {
            return new WebhookContent(kind, null, null, include.HasFlag(WebhookInclude.Mime) ? AsReceived(security, view, received) : null);
        }

        return new WebhookContent(
            kind,
            include.HasFlag(WebhookInclude.Text) ? view.TextBody : null,
            include.HasFlag(WebhookInclude.Html) ? view.HtmlBody : null,
            include.HasFlag(WebhookInclude.Mime) ? Base64(view) : null);
    }

    /// <summary>
    /// The message as received, without the <c>X-RuleMail-*</c> headers from outside. When decryption failed the
    /// view is exactly that; when it succeeded without integrity the view holds the plaintext, so the received bytes
    /// are read again (null without them).
    /// </summary>
    private static string? AsReceived(SecurityResult security, MimeMessage view, Stream? received)
    {
        if (security.Encryption is { Success: false })
        {
            return Base64(view);
        }

        if (received is null)
        {
            return null;
        }

        received.Position = 0;
        var message = MimeMessage.Load(received);
        OwnHeaders.Remove(message.Headers);
        return Base64(message);
    }

    private static string Base64(MimeMessage message)
    {
        using var bytes = new MemoryStream();
        message.WriteTo(Wire, bytes);
        return Convert.ToBase64String(bytes.GetBuffer(), 0, (int)bytes.Length);
    }

    private static FormatOptions CreateWire()
    {
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        return options;
    }
}
