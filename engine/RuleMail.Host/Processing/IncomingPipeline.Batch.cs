using Microsoft.Extensions.Logging;
using RuleMail.Host.State;
using RuleMail.Host.Transport;

namespace RuleMail.Host.Processing;

/// <summary>
/// Group commit for plain mail: a listing run on its own state records the analyses that planned nothing
/// (<see cref="MessageState.Done"/> at once) together, one commit (one disk sync) for up to <see cref="DoneBatchSize"/>
/// messages, instead of one each.
/// </summary>
/// <remarks>
/// Safe because nothing was done for such a message: one whose analysis is lost before the commit (a crash, the disk
/// full) is only judged again on the next run, never acted on twice. What must hold is the cursor: a message is
/// reported to its source as recorded (<see cref="IMailSource.RecordedAsync"/>, which moves the folder's cursor past it)
/// only after its commit, and the batch is committed before any other message is reported, so every message below a
/// saved cursor is in the ledger. A message is reported as processed (log line, progress, run summary) only once
/// committed. A cluster's claims record each message on its own (the commit also takes it off the work queue).
/// </remarks>
internal sealed partial class IncomingPipeline
{
    /// <summary>How many plan-less analyses share one commit at most.</summary>
    public const int DoneBatchSize = 32;

    /// <summary>The plan-less analyses of one listing run waiting for their shared commit.</summary>
    private sealed class DoneBatch(IMailSource source, FetchReport report, IProgress<ProcessedMessage>? progress)
    {
        public List<Pending> Items { get; } = [];

        public IMailSource Source => source;

        public FetchReport Report => report;

        public IProgress<ProcessedMessage>? Progress => progress;

        /// <summary>The pending analysis of a message with this content hash under another source key, if any.</summary>
        public LedgerEntry? SameContent(string hash, string sourceKey) =>
            Items.FirstOrDefault(i => i.Done.Entry.ContentHash == hash && i.Done.Entry.SourceKey != sourceKey)?.Done.Entry;
    }

    /// <param name="IfFailed">What the message is recorded as, to be retried, when its analysis cannot be recorded.</param>
    private sealed record Pending(DoneAnalysis Done, SourceMessage Message, IReadOnlyList<string> RuleErrors, bool IsNew, LedgerEntry IfFailed);

    /// <summary>Reports <paramref name="message"/> to its source as recorded, after committing the batch waiting before it.</summary>
    private async Task RecordedAsync(IMailSource source, SourceMessage message, DoneBatch? batch, CancellationToken cancellationToken)
    {
        if (batch is not null)
        {
            await CommitAsync(batch).ConfigureAwait(false);
        }

        await source.RecordedAsync(message, services.State, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Commits the batch's analyses in one transaction; when one of them cannot be (the message was judged again
    /// meanwhile), each is recorded on its own as it would have been without the batch. Then each is reported.
    /// </summary>
    private async Task CommitAsync(DoneBatch batch)
    {
        if (batch.Items.Count == 0)
        {
            return;
        }

        Pending[] items = [.. batch.Items];
        batch.Items.Clear();
        var recorded = new List<(Pending Item, LedgerEntry Entry)>(items.Length);
        try
        {
            await services.State.RecordDoneAnalysesAsync([.. items.Select(i => i.Done)], CancellationToken.None).ConfigureAwait(false);
            recorded.AddRange(items.Select(i => (i, i.Done.Entry)));
        }
        catch (InvalidOperationException e)
        {
            _logger.LogInformation("{Account}: {Count} plain messages are recorded one by one: {Reason}", account.Name, items.Length, e.Message);
            foreach (var item in items)
            {
                recorded.Add((item, await RecordOneAsync(item).ConfigureAwait(false)));
            }
        }

        foreach (var (item, entry) in recorded)
        {
            await batch.Source.RecordedAsync(item.Message, services.State, CancellationToken.None).ConfigureAwait(false);
            foreach (var error in item.RuleErrors)
            {
                _logger.LogWarning("{Account}: {Key}: a rule failed and was skipped: {Error}", account.Name, entry.SourceKey, error);
            }

            Add(batch.Report, Report(entry, [], item.IsNew), batch.Progress);
        }
    }

    /// <summary>Records one analysis of a batch that could not be committed whole, exactly as the analysis does without a batch.</summary>
    private async Task<LedgerEntry> RecordOneAsync(Pending item)
    {
        var entry = item.Done.Entry;
        try
        {
            await services.State.RecordAnalysisAsync(entry, item.Done.Analysis, [], CancellationToken.None).ConfigureAwait(false);
            return entry;
        }
        catch (InvalidOperationException e)
        {
            return await FailAsync(item.IfFailed, $"cannot be processed: {e.GetType().Name}: {e.Message.Split('\n')[0]}", poison: false, CancellationToken.None).ConfigureAwait(false);
        }
    }
}
