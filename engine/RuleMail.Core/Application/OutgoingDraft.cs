using MimeKit;
using RuleMail.Keys;

namespace RuleMail.Application;

/// <summary>
/// Who a message being composed is from and to, before it has a body: what the composer asks the buttons for.
/// </summary>
/// <param name="From">The sender's address.</param>
/// <param name="To">To recipients.</param>
/// <param name="Cc">Cc recipients.</param>
/// <param name="Bcc">Bcc recipients: reported apart, each gets a copy of their own.</param>
/// <param name="Account">The address of the account the message goes out from (what rules see as <c>account</c>); null when none.</param>
public sealed record OutgoingDraft(string From, IReadOnlyList<string> To, IReadOnlyList<string> Cc, IReadOnlyList<string> Bcc, string? Account)
{
    /// <summary>The security type the composer switched to (<c>S/MIME</c> or <c>PGP</c>); null lets the rules and keys choose.</summary>
    public string? Type { get; init; }

    /// <summary>A message with the draft's From, To, Cc and Bcc and nothing else.</summary>
    /// <exception cref="FormatException">An address is not an e-mail address (the message names its field).</exception>
    internal MimeMessage Addressed()
    {
        var message = new MimeMessage();
        message.From.Add(Mailbox(From, "from"));
        message.To.AddRange(To.Select(a => Mailbox(a, "to")));
        message.Cc.AddRange(Cc.Select(a => Mailbox(a, "cc")));
        message.Bcc.AddRange(Bcc.Select(a => Mailbox(a, "bcc")));
        return message;
    }

    private static MailboxAddress Mailbox(string text, string field) =>
        MailboxAddress.TryParse(text, out var mailbox) && MailAddresses.Normalize(mailbox.Address) is not null
            ? mailbox
            : throw new FormatException($"{field}: '{text}' is not an e-mail address");
}
