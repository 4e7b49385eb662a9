using RuleMail.Host.Processing;
using RuleMail.Json;

namespace RuleMail.Web.Api;

/// <summary>The outbox's contract documents (<see cref="OutboxEntryDocument"/>) of the host's <see cref="OutboxItem"/>s.</summary>
internal static class OutboxDocuments
{
    /// <summary>Where the message's document is: <c>/api/v1/outbox/{id}</c>.</summary>
    public static string LocationOf(string id) => $"/api/v1/outbox/{Uri.EscapeDataString(id)}";

    public static OutboxEntryDocument From(OutboxItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var entry = item.Entry;
        return new OutboxEntryDocument(
            item.Id,
            entry.Account,
            Outboxes.StateName(entry.State),
            entry.Reason,
            entry.Attempts,
            entry.NextAttempt,
            entry.UpdatedAt,
            entry.MessageId,
            item.Subject,
            item.To,
            LocationOf(item.Id));
    }
}
