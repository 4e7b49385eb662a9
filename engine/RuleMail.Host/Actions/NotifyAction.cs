using System.Globalization;
using System.Text;
using MimeKit;
using RuleMail.Application;
using RuleMail.Host.Processing;
using RuleMail.Host.State;
using RuleMail.Host.Transport;
using RuleMail.Rules;

namespace RuleMail.Host.Actions;

/// <summary>
/// <c>notify</c>: sends a short notice about the message (who sent it, its security result, the decision) through the
/// account's SMTP or pickup transport. Its Message-ID comes from the side effect's idempotency key, so a notice sent
/// again after a crash is recognisable as the same one.
/// </summary>
internal sealed class NotifyAction(TimeProvider time) : IActionHandler
{
    public SideEffectKind Kind => SideEffectKind.Notify;

    public int Order => 3;

    public bool OnMessage => false;

    public bool LeavesHost => true;

    public SideEffectState NotDone => SideEffectState.Skipped;

    public IEnumerable<PlannedAction> Plan(ActionPlanning planning)
    {
        if (planning.Decision.Notify.Count == 0)
        {
            return [];
        }

        var notice = Notice(planning);
        return planning.Decision.Notify.Distinct(StringComparer.OrdinalIgnoreCase).Select(address => new PlannedAction(address, notice));
    }

    public async Task<SourceActionResult> RunAsync(ActionContext context, SideEffect effect, CancellationToken cancellationToken)
    {
        if (context.Transport is not { } transport)
        {
            return SourceActionResult.Unsupported("the account has no send: smtp or pickup to send notices with");
        }

        if (!MailboxAddress.TryParse(effect.Target, out var to))
        {
            return new SourceActionResult(false, $"not an address: {effect.Target}");
        }

        var notice = new MimeMessage();
        notice.From.Add(new MailboxAddress("RuleMail", context.Account.Address));
        notice.To.Add(to);
        notice.Subject = $"RuleMail notice: {context.Account.Name}";
        notice.MessageId = $"{effect.IdempotencyKey}@{Keys.MailAddresses.Domain(context.Account.Address)}";
        notice.Date = time.GetUtcNow();
        notice.Headers.Add("Auto-Submitted", "auto-generated");
        notice.Body = new TextPart("plain") { Text = effect.Payload ?? string.Empty };
        var copy = new OutgoingCopy(notice, [Keys.MailAddresses.Normalize(to.Address) ?? to.Address]);
        if (transport.AlreadyDelivered(copy))
        {
            return SourceActionResult.Ok;
        }

        await context.Notices.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await transport.SendAsync(copy, cancellationToken).ConfigureAwait(false);
        }
        catch (MailSourceException e)
        {
            throw new TransientActionException($"notice to {effect.Target}: {e.Message}", e);
        }
        catch (MailRejectedException e)
        {
            return new SourceActionResult(false, $"notice to {effect.Target}: {e.Message}");
        }
        finally
        {
            context.Notices.Release();
        }

        return SourceActionResult.Ok;
    }

    public string Describe(SideEffect effect) => $"notify {effect.Target}";

    private static string Notice(ActionPlanning planning)
    {
        var (account, entry, verdict) = (planning.Account, planning.Entry, planning.Verdict);
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"RuleMail processed a message for the account {account.Name} ({account.Address}).");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"From:       {entry.From}");
        text.AppendLine(CultureInfo.InvariantCulture, $"Subject:    {verdict.Message.Subject}");
        text.AppendLine(CultureInfo.InvariantCulture, $"Message-ID: {verdict.Message.MessageId}");
        text.AppendLine(CultureInfo.InvariantCulture, $"Security:   {SecurityStatus.Describe(verdict.Security)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"Decision:   {DecisionJson.Describe(planning.Decision)}");
        return text.ToString();
    }
}
