using MimeKit;

namespace RuleMail.Application;

/// <summary>
/// One message to hand to a transport, with the envelope recipients it goes to. An outgoing message is one copy for
/// its To and Cc recipients (and, when it is not encrypted, its Bcc recipients); when it is encrypted, each Bcc
/// recipient gets a copy of their own, encrypted to them (and the sender) alone, so no copy reveals them or cannot
/// be read by the one who gets it.
/// </summary>
/// <param name="Message">The finished message (signed and/or encrypted as planned); it carries no Bcc header except,
/// on a Bcc copy, the one naming its own recipient.</param>
/// <param name="Recipients">The envelope recipients (SMTP <c>RCPT TO</c>), normalized addresses, at least one.</param>
/// <param name="BccRecipient">The Bcc recipient this copy is for; null for the To/Cc copy.</param>
public sealed record OutgoingCopy(MimeMessage Message, IReadOnlyList<string> Recipients, string? BccRecipient = null)
{
    /// <summary>Tells copies of one message apart (in pickup file names and the ledger): <c>main</c> or <c>bcc:ADDRESS</c>.</summary>
    public string Key => BccRecipient is null ? "main" : $"bcc:{BccRecipient}";
}
