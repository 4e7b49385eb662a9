namespace RuleMail.Application;

/// <summary>
/// Who a message being composed is from and to, before it has a body: what the composer asks the buttons for.
/// </summary>
/// <param name="From">The sender's address.</param>
/// <param name="To">To recipients.</param>
/// <param name="Cc">Cc recipients.</param>
/// <param name="Bcc">Bcc recipients: reported apart, each gets a copy of their own.</param>
/// <param name="Account">The address of the account the message goes out from (what rules see as <c>account</c>); null when none.</param>
public sealed record OutgoingDraft(string From, IReadOnlyList<string> To, IReadOnlyList<string> Cc, IReadOnlyList<string> Bcc, string? Account);
