using Microsoft.Extensions.Logging;
using RuleMail.Host.Cluster;
using RuleMail.Host.State;
using RuleMail.Host.Transport;

namespace RuleMail.Host.Processing;

/// <summary>
/// The cluster's two halves of a fetch: the lease holder lists the mailbox and queues what needs work
/// (<see cref="ListForQueueAsync"/>); any node's worker then takes one queued message through the same steps as a
/// one-host fetch (<see cref="ProcessQueuedAsync"/>), on a state fenced by its claim.
/// </summary>
internal sealed partial class IncomingPipeline
{
    /// <summary>What <see cref="ListForQueueAsync"/> listed that the ledger has finished: not queued, but an IMAP folder's cursor passes it.</summary>
    private readonly List<SourceMessage> _listedFinished = [];

    /// <summary>
    /// What a fetch would work on now, as queue items: listed messages not finished and due, and due plans whose message
    /// is no longer listed (moved away by their plan). The same for every source that <see cref="IMailSource.FetchesByKey"/>:
    /// an IMAP folder lists what is above its cursor (plus what is due), which moves past what was listed once it is queued
    /// (<see cref="ListedAsync"/>); a Maildir, which has no cursor, lists every file the ledger has not finished, each time,
    /// so a message queued but not yet worked on is listed again, and queued again as a no-op (one queue row per key).
    /// </summary>
    public async Task<IReadOnlyList<WorkItem>> ListForQueueAsync(IMailSource source, FetchReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(report);
        await source.ConnectAsync(cancellationToken).ConfigureAwait(false);
        var now = services.Time.GetUtcNow();
        var listed = await source.ListAsync(services.State, now, cancellationToken).ConfigureAwait(false);
        var known = await services.State.FindMessagesAsync(account.Name, source.Folder, [.. listed.Select(m => m.SourceKey)], cancellationToken).ConfigureAwait(false);
        var items = new List<WorkItem>();
        var handled = new HashSet<string>(StringComparer.Ordinal);
        foreach (var message in listed)
        {
            known.TryGetValue(message.SourceKey, out var entry);
            if (entry is not null && !handled.Add(entry.SourceKey))
            {
                continue; // Listed twice: under its recorded UID and under the one a retry's move back gave it.
            }

            if (entry is { State: MessageState.Done or MessageState.Failed })
            {
                report.AlreadyDone++;
                _listedFinished.Add(message); // Known and finished: the cursor moves past it too.
                continue;
            }

            if (entry?.NextAttempt > now)
            {
                report.Waiting++;
                continue;
            }

            // Queued under the ledger's key of the message (a message a retry moved back is listed under its new UID, but
            // is one message): one queue row per message, so two workers never carry out one plan at once.
            items.Add(new WorkItem(account.Name, source.Folder, entry?.SourceKey ?? message.SourceKey, message.UidValidity, message.Uid, Listed: true));
        }

        var listedKeys = listed.Select(m => m.SourceKey).Concat(handled).ToHashSet(StringComparer.Ordinal);
        foreach (var entry in await services.State.DueMessagesAsync(account.Name, source.Folder, now, cancellationToken).ConfigureAwait(false))
        {
            if (!listedKeys.Contains(entry.SourceKey))
            {
                items.Add(new WorkItem(account.Name, source.Folder, entry.SourceKey, entry.UidValidity, entry.Uid, Listed: false));
            }
        }

        _logger.Log(items.Count == 0 ? LogLevel.Debug : LogLevel.Information,
            "{Account}: {Count} messages to queue from {Folder}", account.Name, items.Count, source.Folder);
        return items;
    }

    /// <summary>
    /// Moves the folder's cursor past what <see cref="ListForQueueAsync"/> listed (call once it is queued); nothing for a
    /// source without a cursor (a Maildir: the ledger alone says what is done).
    /// </summary>
    public async Task ListedAsync(IMailSource source, IReadOnlyList<WorkItem> queued, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(queued);
        var listed = queued.Where(i => i.Listed).Select(i => new SourceMessage(i.SourceKey, i.UidValidity, i.Uid)).Concat(_listedFinished);
        foreach (var message in listed.OrderBy(m => m.Uid))
        {
            await source.RecordedAsync(message, services.State, cancellationToken).ConfigureAwait(false);
        }

        await source.FlushAsync(services.State, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// One queued message, through the steps a one-host fetch takes with it (analysis, the recorded plan, each step
    /// recorded), on <paramref name="source"/> already connected; returns once its whole plan has run or is recorded for
    /// a later attempt. A message finished meanwhile (by another node, or queued twice) is left alone.
    /// </summary>
    /// <exception cref="FencedOffException">The claim no longer holds: the node that took it over finishes the message.</exception>
    /// <exception cref="MailSourceException">The mailbox went away; what is not recorded runs on a later attempt.</exception>
    public async Task ProcessQueuedAsync(IMailSource source, WorkItem item, FetchReport report, IProgress<ProcessedMessage>? progress)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(report);
        try
        {
            var known = await services.State.FindMessagesAsync(account.Name, item.Folder, [item.SourceKey], CancellationToken.None).ConfigureAwait(false);
            known.TryGetValue(item.SourceKey, out var entry);
            var now = services.Time.GetUtcNow();
            if (entry is { State: MessageState.Done or MessageState.Failed })
            {
                report.AlreadyDone++;
                return;
            }

            if (entry?.NextAttempt > now)
            {
                report.Waiting++;
                return;
            }

            // Where the lister saw it: under its UID now, which is not its ledger key when a retry moved it back.
            var message = new SourceMessage(
                item.Listed && item.UidValidity is { } validity && item.Uid is { } uid ? Transport.ImapSource.Key(validity, uid) : item.SourceKey,
                item.UidValidity, item.Uid);
            if (!item.Listed)
            {
                if (entry is null)
                {
                    return;
                }

                Add(report, entry.DecisionJson is null
                    ? await GoneAsync(entry, source.Folder, CancellationToken.None).ConfigureAwait(false)
                    : await CarryOutAsync(source, new SourceMessage(entry.SourceKey, entry.UidValidity, entry.Uid), entry, isNew: false,
                        present: entry.Location is not null, report, progress, CancellationToken.None).ConfigureAwait(false), progress);
                return;
            }

            ProcessedMessage? processed;
            try
            {
                processed = await ProcessAsync(source, message, entry, batch: null, report, progress, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not (OperationCanceledException or MailSourceException or FencedOffException or Npgsql.NpgsqlException))
            {
                processed = await IsolateAsync(source, message, entry, e).ConfigureAwait(false);
            }

            Add(report, processed, progress);
        }
        finally
        {
            await WaitForPlansAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Records a queued message as failed for good without touching it: every node that took it stopped while it worked on it.</summary>
    public async Task GiveUpQueuedAsync(IMailSource source, WorkItem item, string reason, FetchReport report, IProgress<ProcessedMessage>? progress)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(item);
        var known = await services.State.FindMessagesAsync(account.Name, item.Folder, [item.SourceKey], CancellationToken.None).ConfigureAwait(false);
        known.TryGetValue(item.SourceKey, out var entry);
        if (entry is { State: MessageState.Done or MessageState.Failed })
        {
            report.AlreadyDone++;
            return;
        }

        var message = new SourceMessage(item.SourceKey, item.UidValidity, item.Uid);
        var failed = await FailAsync(entry ?? NewEntry(message, item.Folder, string.Empty, services.Time.GetUtcNow()), reason, poison: true, CancellationToken.None).ConfigureAwait(false);
        Add(report, Report(failed, [], isNew: entry is null), progress);
    }
}
