using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Host.Transport;

namespace RuleMail.Host.Actions;

/// <summary>Where one message's plan runs: its account, its source and place in it, and the account's transport for notices.</summary>
/// <param name="Present">False when the source no longer lists the message: actions on the message are then skipped as gone.</param>
/// <param name="Notices">One notice at a time: the account's transport holds one SMTP connection.</param>
internal sealed record ActionContext(
    AccountConfig Account, IMailSource Source, SourceMessage Message, bool Present, IMailTransport? Transport, SemaphoreSlim Notices)
{
    /// <summary>
    /// Where the message is now when that is known from the ledger (a retry, or a plan continued after a move): actions
    /// on the message act there rather than on <see cref="Message"/> in the listed folder. Null on a message just listed.
    /// </summary>
    public MessageLocation? At { get; init; }
}
