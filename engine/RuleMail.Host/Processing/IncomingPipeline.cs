using Microsoft.Extensions.Logging;
using RuleMail.Crypto;
using RuleMail.Host.Configuration;
using RuleMail.Host.Transport;
using RuleMail.Host.State;

namespace RuleMail.Host.Processing;

/// <summary>
/// One account's incoming mail, once through: list → for each message not yet finished: spool, parse, security
/// result, rules, record the result with its whole side-effect plan (one transaction), then carry out the plan
/// in order (keywords, the move, webhooks, notices), recording each step. Mailbox actions come first so a
/// quarantine never waits for a webhook that is down; a webhook or notice still due later needs no mailbox.
/// </summary>
/// <remarks>
/// Exactly once: a message is analysed only while the ledger has no plan for it, and a planned side effect runs
/// until it is recorded done. A crash before the plan is recorded repeats only the analysis; a crash after it
/// continues the plan where it stopped. The window left is a whole webhook call (or SMTP transaction): from the
/// moment the request is sent until its outcome is recorded, a kill or a timeout repeats it on the next attempt,
/// with the same <c>Idempotency-Key</c> (or Message-ID) so the receiver can drop it.
/// A message that keeps failing is given up after <see cref="RetryPolicy.MaxAttempts"/> and stays in its folder;
/// one whose analysis runs out of memory is given up at once (it would do the same on every attempt).
/// <para>
/// Webhooks and notices: once a message's keywords and move are done, the rest of its plan runs in the background,
/// at most <see cref="MaxPlansInFlight"/> messages at a time per account, so one slow receiver does not hold back
/// the mailbox; a run ends only when every plan it started is finished (or recorded for a later attempt).
/// </para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Its SemaphoreSlims never create a wait handle (AvailableWaitHandle is not used), so there is nothing to dispose.")]
internal sealed partial class IncomingPipeline(HostServices services, AccountConfig account, IMailTransport? transport)
{
    /// <summary>How many messages of one account may have webhooks or notices in flight at once.</summary>
    public const int MaxPlansInFlight = 8;

    private readonly ILogger _logger = services.Logging.CreateLogger("RuleMail.Fetch");
    private readonly SemaphoreSlim _plansInFlight = new(MaxPlansInFlight, MaxPlansInFlight);
    private readonly List<Task> _running = [];
    private readonly Lock _reporting = new();

    /// <summary>One notice at a time: the account's transport holds one SMTP connection.</summary>
    private readonly SemaphoreSlim _notices = new(1, 1);

    /// <summary>Runs the account's fetch once. Server trouble ends the run early with <see cref="FetchReport.Error"/> set; nothing is lost.</summary>
    public async Task<FetchReport> RunAsync(IMailSource source, string description, IProgress<ProcessedMessage>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var report = new FetchReport(account.Name, description);
        try
        {
            try
            {
                await RunListedAsync(source, description, report, progress, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                // Every plan this run started is finished before it ends, even when the mailbox went away or shutdown
                // began: a webhook in flight is awaited, never abandoned.
                await WaitForPlansAsync().ConfigureAwait(false);
            }
        }
        catch (MailSourceException e)
        {
            report.Error = e.Message;
        }

        // Messages waiting for a later attempt that this run did not touch (their time has not come).
        var counts = await services.State.CountMessagesAsync(account.Name, CancellationToken.None).ConfigureAwait(false);
        report.Waiting = Math.Max(report.Waiting, counts[MessageState.Retry] - report.Count(MessageState.Retry));
        return report;
    }

    private async Task RunListedAsync(IMailSource source, string description, FetchReport report, IProgress<ProcessedMessage>? progress, CancellationToken cancellationToken)
    {
        {
            await source.ConnectAsync(cancellationToken).ConfigureAwait(false);
            var now = services.Time.GetUtcNow();
            var listed = await source.ListAsync(services.State, now, cancellationToken).ConfigureAwait(false);
            var known = await services.State.FindMessagesAsync(account.Name, source.Folder, [.. listed.Select(m => m.SourceKey)], cancellationToken).ConfigureAwait(false);
            _logger.Log(listed.Count == 0 ? LogLevel.Debug : LogLevel.Information,
                "{Account}: {Count} messages to look at in {Source}", account.Name, listed.Count, description);
            var handled = new HashSet<string>(StringComparer.Ordinal);
            var batch = new DoneBatch(source, report, progress);
            try
            {
                foreach (var message in listed)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    known.TryGetValue(message.SourceKey, out var entry);
                    if (entry is not null && !handled.Add(entry.SourceKey))
                    {
                        // Listed twice: under its recorded UID and under the one a retry's move back gave it. Once is enough.
                        continue;
                    }

                    if (entry is { State: MessageState.Done or MessageState.Failed })
                    {
                        report.AlreadyDone++;
                        await RecordedAsync(source, message, batch, cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    if (entry?.NextAttempt > services.Time.GetUtcNow())
                    {
                        report.Waiting++;
                        continue;
                    }

                    // A message is finished once begun (shutdown stops between messages), so the ledger write after an
                    // irreversible step (a webhook's 2xx, a move) is never cancelled.
                    ProcessedMessage? processed;
                    try
                    {
                        processed = await ProcessAsync(source, message, entry, batch, report, progress, CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not (OperationCanceledException or MailSourceException or Cluster.FencedOffException or Npgsql.NpgsqlException))
                    {
                        // A bug past the per-step handling: this message fails, the others go on.
                        processed = await IsolateAsync(source, message, entry, e).ConfigureAwait(false);
                    }

                    Add(report, processed, progress);
                    if (batch.Items.Count >= DoneBatchSize)
                    {
                        await CommitAsync(batch).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or MailSourceException)
            {
                // Shutdown between messages, or the server went away: what is judged is still recorded (the cursor is not
                // saved, so the next run lists from where the last save left it and finds these done).
                await CommitAsync(batch).ConfigureAwait(false);
                throw;
            }

            await CommitAsync(batch).ConfigureAwait(false);
            await source.FlushAsync(services.State, cancellationToken).ConfigureAwait(false);

            // Due plans whose message the source no longer lists (moved to Quarantine, gone from a Maildir or POP3):
            // what is left of their plan (webhooks, notices) needs no mailbox, so it still runs.
            var listedKeys = listed.Select(m => m.SourceKey).Concat(handled).ToHashSet(StringComparer.Ordinal);
            foreach (var entry in await services.State.DueMessagesAsync(account.Name, source.Folder, services.Time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (listedKeys.Contains(entry.SourceKey))
                {
                    continue;
                }

                if (entry.DecisionJson is null)
                {
                    // It failed before it was analysed, and it is gone now: nothing can be done for it any more.
                    Add(report, await GoneAsync(entry, source.Folder, CancellationToken.None).ConfigureAwait(false), progress);
                    continue;
                }

                // Not listed here, but a message whose location is recorded (moved by a retry's plan) is acted on where it is.
                var message = new SourceMessage(entry.SourceKey, entry.UidValidity, entry.Uid);
                Add(report, await CarryOutAsync(source, message, entry, isNew: false, present: entry.Location is not null, report, progress, CancellationToken.None).ConfigureAwait(false), progress);
            }
        }
    }

    /// <summary>
    /// Carries out the current analysis' plan of an entry a retry has just recorded, where the message is now
    /// (<see cref="LedgerEntry.Location"/>, set), exactly as a fetch carries out its plans — keywords and the move first,
    /// then webhooks and notices, each recorded — and waits for all of it.
    /// </summary>
    /// <exception cref="MailSourceException">The mailbox went away during a keyword or the move; the rest continues on a later run.</exception>
    internal async Task<ProcessedMessage> CarryOutRecordedAsync(IMailSource source, LedgerEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Location is null)
        {
            throw new ArgumentException($"{entry.SourceKey}: where the message is must be known to act on it", nameof(entry));
        }

        var report = new FetchReport(account.Name, source.Folder);
        var message = new SourceMessage(entry.SourceKey, entry.UidValidity, entry.Uid);
        ProcessedMessage? finished;
        try
        {
            finished = await CarryOutAsync(source, message, entry, isNew: false, present: true, report, progress: null, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await WaitForPlansAsync().ConfigureAwait(false);
        }

        return finished ?? report.Messages.SingleOrDefault()
            ?? Report(entry, [], isNew: false) with { Error = "carrying out the plan failed; what is not recorded done runs on the next attempt" };
    }

    /// <summary>Every plan this pipeline started in the background, finished (awaited, never abandoned).</summary>
    private async Task WaitForPlansAsync()
    {
        Task[] running;
        lock (_running)
        {
            running = [.. _running];
        }

        await Task.WhenAll(running).ConfigureAwait(false);
    }

    /// <summary>Adds a finished message to the report; called from the run and from plans running in the background.</summary>
    private void Add(FetchReport report, ProcessedMessage? processed, IProgress<ProcessedMessage>? progress)
    {
        if (processed is null)
        {
            return;
        }

        lock (_reporting)
        {
            report.Messages.Add(processed);
            _logger.LogInformation("{Account}: {Key} from {From} \"{Subject}\": {Security}; decision: {Decision}; {State}",
                account.Name, processed.SourceKey, processed.From, processed.Subject, SecurityStatus.Describe(processed.Security),
                processed.DecisionText, processed.State.ToString().ToLowerInvariant());
            progress?.Report(processed);
        }
    }

    /// <summary>Records a message that failed past every inner handler as failed, so it is kept and the run goes on.</summary>
    private async Task<ProcessedMessage> IsolateAsync(IMailSource source, SourceMessage message, LedgerEntry? entry, Exception e)
    {
        _logger.LogError(e, "{Account}: {Key} could not be processed", account.Name, message.SourceKey);
        var now = services.Time.GetUtcNow();
        var failed = await FailAsync(
            entry ?? NewEntry(message, source.Folder, string.Empty, now),
            $"cannot be processed: {e.GetType().Name}: {e.Message.Split('\n')[0]}",
            poison: e is OutOfMemoryException,
            CancellationToken.None).ConfigureAwait(false);
        return Report(failed, [], isNew: entry is null);
    }

    private async Task<ProcessedMessage?> ProcessAsync(
        IMailSource source, SourceMessage message, LedgerEntry? entry, DoneBatch? batch, FetchReport report, IProgress<ProcessedMessage>? progress, CancellationToken cancellationToken)
    {
        var isNew = entry is null;
        if (entry?.DecisionJson is null)
        {
            var analysed = await AnalyseAsync(source, message, entry, batch, cancellationToken).ConfigureAwait(false);
            if (analysed.Entry is null || analysed.Entry.State is MessageState.Failed
                || (analysed.Entry.State is MessageState.Retry && analysed.Entry.DecisionJson is null))
            {
                return analysed.Report;
            }

            if (analysed.Entry.State == MessageState.Done)
            {
                return Report(analysed.Entry, [], isNew);
            }

            entry = analysed.Entry;
        }

        return await CarryOutAsync(source, message, entry, isNew, present: true, report, progress, cancellationToken).ConfigureAwait(false);
    }

    private static ProcessedMessage Report(LedgerEntry entry, IReadOnlyList<string> actions, bool isNew) => new()
    {
        SourceKey = entry.SourceKey,
        Subject = entry.Subject,
        From = entry.From,
        Security = HostJson.Deserialize<SecurityResult>(entry.SecurityJson),
        DecisionText = HostJson.DescribeDecision(entry.DecisionJson),
        Tags = entry.Tags,
        State = entry.State,
        Actions = actions,
        Error = entry.State is MessageState.Retry or MessageState.Failed ? entry.Error : null,
        NextAttempt = entry.NextAttempt,
        IsNew = isNew,
    };
}
