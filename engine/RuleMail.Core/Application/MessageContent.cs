using MimeKit;
using MimeKit.Utils;
using RuleMail.Keys;

namespace RuleMail.Application;

/// <summary>
/// What a person writes in the composer: subject, text (and optionally HTML), attachments. <see cref="Build"/> turns it
/// and a draft's addresses into the message <see cref="OutgoingProcessing.Process"/> protects — the same message
/// whether <c>rulemail compose</c> or the HTTP API asked.
/// </summary>
public sealed record MessageContent(string Subject, string Text)
{
    /// <summary>An HTML alternative to <see cref="Text"/>; null for text only.</summary>
    public string? Html { get; init; }

    /// <summary>Attachments in order.</summary>
    public IReadOnlyList<Attachment> Attachments { get; init; } = [];

    /// <summary>The message: From, To, Cc and Bcc from <paramref name="draft"/>, a new Message-ID in the sender's domain, the date now.</summary>
    /// <exception cref="FormatException">An address of the draft is not an e-mail address.</exception>
    public MimeMessage Build(OutgoingDraft draft, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(time);
        var message = draft.Addressed();
        message.Subject = Subject;
        message.Date = time.GetUtcNow();
        message.MessageId = MimeUtils.GenerateMessageId(MailAddresses.Domain(MailAddresses.Normalize(draft.From) ?? "rulemail.invalid"));

        var builder = new BodyBuilder { TextBody = Text, HtmlBody = Html };
        foreach (var attachment in Attachments)
        {
            if (attachment.ContentType is { } type && ContentType.TryParse(type, out var contentType))
            {
                builder.Attachments.Add(attachment.Name, attachment.Content, contentType);
            }
            else
            {
                builder.Attachments.Add(attachment.Name, attachment.Content);
            }
        }

        message.Body = builder.ToMessageBody();
        return message;
    }

    /// <summary>One attachment: its file name, its MIME type (null: from the name), and its bytes.</summary>
    public sealed record Attachment(string Name, string? ContentType, byte[] Content);
}
