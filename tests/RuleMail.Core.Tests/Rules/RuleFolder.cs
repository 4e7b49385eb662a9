using MimeKit;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Core.Tests.Rules;

/// <summary>A rules folder in a temp directory, and messages to run them on.</summary>
internal sealed class RuleFolder : IDisposable
{
    private readonly TempDirectory _folder = new("rules");

    public string Path => _folder.Path;

    public RuleFolder With(string name, string content)
    {
        File.WriteAllText(_folder.File(name), content.ReplaceLineEndings("\n"));
        return this;
    }

    public RuleSet Load() => RuleSet.Load(Path);

    public static RuleMessage Message(
        string from = "alice@customer.example",
        string to = "support@rulemail.test",
        string subject = "Order 4711",
        string text = "Hello",
        SecurityResult? security = null,
        string direction = "incoming",
        string? cc = null,
        (string Name, string Type)? attachment = null,
        long size = 2048)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(to));
        if (cc is not null)
        {
            message.Cc.Add(MailboxAddress.Parse(cc));
        }

        message.Subject = subject;
        message.Date = new DateTimeOffset(2026, 11, 29, 10, 0, 0, TimeSpan.Zero);
        message.Headers.Add("X-Mailer", "Thunderbird 140");
        var builder = new BodyBuilder { TextBody = text };
        if (attachment is { } file)
        {
            builder.Attachments.Add(file.Name, new byte[300], ContentType.Parse(file.Type));
        }

        message.Body = builder.ToMessageBody();
        return RuleMessage.From(message, security, direction, "support@rulemail.test", size);
    }

    public void Dispose() => _folder.Dispose();
}
