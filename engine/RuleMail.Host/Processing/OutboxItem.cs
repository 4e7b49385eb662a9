using RuleMail.Host.State;

namespace RuleMail.Host.Processing;

/// <summary>
/// One outbox message as a person or a ticket system sees it: its state (<see cref="Entry"/>) and, read from its file
/// when the file is still there, its subject and To/Cc addresses (Bcc recipients are never shown).
/// </summary>
public sealed record OutboxItem(OutboxEntry Entry, string? Subject, IReadOnlyList<string>? To)
{
    /// <summary>The message's id: its file name without <c>.eml</c>.</summary>
    public string Id => Outboxes.IdOf(Entry.FileName);
}
