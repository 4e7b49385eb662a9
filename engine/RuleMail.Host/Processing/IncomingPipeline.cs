using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using RuleMail.Application;
using RuleMail.Crypto;
using RuleMail.Json;
using RuleMail.Host.Actions;
using RuleMail.Host.Configuration;
using RuleMail.Host.Transport;
using RuleMail.Host.State;
using RuleMail.Rules;

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
public sealed class IncomingPipeline(HostServices services, AccountConfig account, IMailTransport? transport)
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
                    await source.RecordedAsync(message, services.State, cancellationToken).ConfigureAwait(false);
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
                    processed = await ProcessAsync(source, message, entry, report, progress, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not (OperationCanceledException or MailSourceException))
                {
                    // A bug past the per-step handling: this message fails, the others go on.
                    processed = await IsolateAsync(source, message, entry, e).ConfigureAwait(false);
                }

                Add(report, processed, progress);
            }

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
        IMailSource source, SourceMessage message, LedgerEntry? entry, FetchReport report, IProgress<ProcessedMessage>? progress, CancellationToken cancellationToken)
    {
        var isNew = entry is null;
        if (entry?.DecisionJson is null)
        {
            var analysed = await AnalyseAsync(source, message, entry, cancellationToken).ConfigureAwait(false);
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

    private async Task<(LedgerEntry? Entry, ProcessedMessage? Report)> AnalyseAsync(
        IMailSource source, SourceMessage message, LedgerEntry? previous, CancellationToken cancellationToken)
    {
        await using var spool = SpoolFile.Create(services.SpoolDirectory);
        if (!await source.CopyToAsync(message, spool, cancellationToken).ConfigureAwait(false))
        {
            _logger.LogInformation("{Account}: {Key} disappeared from {Folder} before it was read", account.Name, message.SourceKey, source.Folder);
            if (previous is null)
            {
                return (null, null);
            }

            var gone = await GoneAsync(previous, source.Folder, cancellationToken).ConfigureAwait(false);
            return (previous with { State = gone.State }, gone);
        }

        spool.Position = 0;
        var hash = Convert.ToHexStringLower(await SHA256.HashDataAsync(spool, cancellationToken).ConfigureAwait(false));
        var size = spool.Length;
        spool.Position = 0;
        var now = services.Time.GetUtcNow();

        if (previous is null
            && await services.State.FindByContentHashAsync(account.Name, source.Folder, hash, cancellationToken).ConfigureAwait(false) is { } same
            && same.SourceKey != message.SourceKey)
        {
            // The same message under a new key: the server reset UIDVALIDITY, or it was delivered twice.
            var duplicate = NewEntry(message, source.Folder, hash, now) with
            {
                State = MessageState.Done,
                MessageId = same.MessageId,
                Subject = same.Subject,
                From = same.From,
                Error = same.State is MessageState.Done or MessageState.Failed
                    ? $"same content as {same.SourceKey}, processed before"
                    : $"same content as {same.SourceKey}, whose unfinished plan continues here",
            };
            await RecordAsync(source, message, duplicate, [], cancellationToken).ConfigureAwait(false);
            if (same.State is MessageState.Done or MessageState.Failed)
            {
                return (null, null);
            }

            if (same.DecisionJson is not null)
            {
                return (same, null); // Its keywords and move now apply to the message where it is now.
            }

            var superseded = same with { State = MessageState.Done, NextAttempt = null, Error = $"superseded by {message.SourceKey} (same content)", UpdatedAt = now };
            await services.State.UpdateMessageAsync(superseded, cancellationToken).ConfigureAwait(false);
            previous = null;
        }

        try
        {
            // The analysis parses the spool itself: unparseable mail is a "damaged" result (quarantined by the default
            // rules on its first attempt), not an exception retried eight times. The spool stays open meanwhile.
            var verdict = services.Incoming.Analyse(spool, account.Address);
            services.AnalysisFault?.Invoke(verdict);
            var decision = verdict.Decision;
            var entry = NewEntry(message, source.Folder, hash, now) with
            {
                State = MessageState.Processing,
                Attempts = previous?.Attempts ?? 0,
                MessageId = verdict.Message.MessageId,
                Subject = verdict.Message.Subject,
                From = verdict.Message.From.Mailboxes.FirstOrDefault()?.Address,
                SecurityJson = ContractJson.Serialize(verdict.Security),
                DecisionJson = DecisionJson.Serialize(decision),
                Tags = decision.Tag,
                FirstSeen = previous?.FirstSeen ?? now,
                AnalysisVersion = 1,
            };
            var plan = SideEffectPlan.Build(services, new ActionPlanning(account, entry, verdict));
            if (plan.Count == 0)
            {
                entry = entry with { State = MessageState.Done }; // Nothing to do: one write, not two.
            }

            await services.State.RecordAnalysisAsync(entry, FirstAnalysis(entry, verdict, now), plan, cancellationToken).ConfigureAwait(false);
            await source.RecordedAsync(message, services.State, cancellationToken).ConfigureAwait(false);
            foreach (var error in verdict.Rules.Errors)
            {
                _logger.LogWarning("{Account}: {Key}: a rule failed and was skipped: {Error}", account.Name, message.SourceKey, error);
            }

            return (entry, null);
        }
        catch (Exception e) when (e is not (OperationCanceledException or MailSourceException))
        {
            // Nothing throws past a message: record it, retry with backoff, give up (poison) after the last attempt —
            // at once when it ran out of memory, which it would do again on every attempt (and take others with it).
            if (e is OutOfMemoryException)
            {
                _logger.LogError("{Account}: {Key} ran out of memory while it was analysed; given up at once and left where it is", account.Name, message.SourceKey);
            }

            var failed = await FailAsync(NewEntry(message, source.Folder, hash, now) with { Attempts = previous?.Attempts ?? 0, FirstSeen = previous?.FirstSeen ?? now },
                $"cannot be processed: {e.GetType().Name}: {e.Message.Split('\n')[0]}", poison: e is OutOfMemoryException, cancellationToken).ConfigureAwait(false);
            await source.RecordedAsync(message, services.State, cancellationToken).ConfigureAwait(false);
            return (failed, Report(failed, [], isNew: previous is null));
        }
    }

    /// <summary>Closes an entry that failed before its analysis and whose message has since left the folder.</summary>
    private async Task<ProcessedMessage> GoneAsync(LedgerEntry entry, string folder, CancellationToken cancellationToken)
    {
        var gone = entry with
        {
            State = MessageState.Failed,
            NextAttempt = null,
            Error = $"gone from {folder} before it could be processed (last error: {entry.Error})",
            UpdatedAt = services.Time.GetUtcNow(),
        };
        await services.State.UpdateMessageAsync(gone, cancellationToken).ConfigureAwait(false);
        return Report(gone, [], isNew: false);
    }

    private async Task RecordAsync(IMailSource source, SourceMessage message, LedgerEntry entry, IReadOnlyList<SideEffect> plan, CancellationToken cancellationToken)
    {
        await services.State.RecordAsync(entry, plan, cancellationToken).ConfigureAwait(false);
        await source.RecordedAsync(message, services.State, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Carries out the message's plan: keywords and the move now, in order; the rest (webhooks, notices) in the
    /// background once a slot is free (at most <see cref="MaxPlansInFlight"/>), reported when it finishes.
    /// </summary>
    /// <param name="present">False when the source no longer lists the message: keywords and moves are then skipped as gone.</param>
    /// <returns>The finished message, or null when the rest of its plan runs in the background.</returns>
    private async Task<ProcessedMessage?> CarryOutAsync(
        IMailSource source, SourceMessage message, LedgerEntry entry, bool isNew, bool present,
        FetchReport report, IProgress<ProcessedMessage>? progress, CancellationToken cancellationToken)
    {
        // The current analysis' plan: an earlier analysis' side effects were finished before a retry planned anew.
        var version = entry.AnalysisVersion ?? 1;
        var effects = (await services.State.SideEffectsAsync(account.Name, entry.Folder, entry.SourceKey, cancellationToken).ConfigureAwait(false))
            .Where(e => e.AnalysisVersion == version).ToList();
        var actions = new List<string>();
        var index = 0;
        for (; index < effects.Count && services.ActionFor(effects[index].Kind).OnMessage; index++)
        {
            if (await StepAsync(source, message, entry, effects, index, actions, isNew, present, cancellationToken).ConfigureAwait(false) is { } stopped)
            {
                return stopped;
            }
        }

        if (!effects.Skip(index).Any(e => e.State == SideEffectState.Pending))
        {
            return await FinishAsync(source, message, entry, effects, index, actions, isNew, present, cancellationToken).ConfigureAwait(false);
        }

        // A slot first: with every slot taken the mailbox waits, so the work in flight stays bounded.
        await _plansInFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
        var rest = Task.Run(async () =>
        {
            try
            {
                Add(report, await FinishAsync(source, message, entry, effects, index, actions, isNew, present, CancellationToken.None).ConfigureAwait(false), progress);
            }
#pragma warning disable CA1031 // A plan in the background must not fault the run; what is not recorded runs again next time.
            catch (Exception e)
#pragma warning restore CA1031
            {
                _logger.LogError(e, "{Account}: {Key}: carrying out the plan failed; what is not recorded done runs on the next attempt", account.Name, entry.SourceKey);
            }
            finally
            {
                _plansInFlight.Release();
            }
        }, CancellationToken.None);
        lock (_running)
        {
            _running.Add(rest);
        }

        return null;
    }

    /// <summary>Runs the plan from <paramref name="start"/> on, then records the message done.</summary>
    private async Task<ProcessedMessage> FinishAsync(
        IMailSource source, SourceMessage message, LedgerEntry entry, List<SideEffect> effects, int start, List<string> actions,
        bool isNew, bool present, CancellationToken cancellationToken)
    {
        for (var index = start; index < effects.Count; index++)
        {
            if (await StepAsync(source, message, entry, effects, index, actions, isNew, present, cancellationToken).ConfigureAwait(false) is { } stopped)
            {
                return stopped;
            }
        }

        var done = entry with { State = MessageState.Done, NextAttempt = null, UpdatedAt = services.Time.GetUtcNow() };
        await services.State.UpdateMessageAsync(done, cancellationToken).ConfigureAwait(false);
        return Report(done, actions, isNew) with { FailedSteps = effects.Count(e => e.State == SideEffectState.Failed) };
    }

    /// <summary>Runs one step of the plan and records its outcome.</summary>
    /// <returns>Null to go on; the message's report when a transient failure ends this attempt (retried with backoff).</returns>
    private async Task<ProcessedMessage?> StepAsync(
        IMailSource source, SourceMessage message, LedgerEntry entry, List<SideEffect> effects, int index, List<string> actions,
        bool isNew, bool present, CancellationToken cancellationToken)
    {
        var effect = effects[index];
        var handler = services.ActionFor(effect.Kind);
        if (effect.State != SideEffectState.Pending)
        {
            actions.Add(Describe(effect));
            return null;
        }

        // Before a call that leaves the host, everything committed so far goes under the high-water mark: a state
        // that later loses those commits (a damaged -wal) is refused at start instead of calling again what they
        // recorded done. Keywords and moves need no seal of their own: repeating one changes nothing (a keyword is
        // set, a moved message is no longer listed), and the next call's seal covers their records too.
        if (handler.LeavesHost)
        {
            await services.State.SealAsync(cancellationToken).ConfigureAwait(false);
        }

        SourceActionResult result;
        try
        {
            result = handler.OnMessage && !present
                ? SourceActionResult.Gone
                : await handler.RunAsync(new ActionContext(account, source, message, present, transport, _notices) { At = entry.Location }, effect, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not (OperationCanceledException or TransientActionException or MailSourceException))
        {
            // A bug or an input the server cannot take (say a folder name it refuses): this step fails with its
            // reason, the rest of the plan still runs, and the mailbox is never blocked by it.
            _logger.LogError(e, "{Account}: {Key}: {Action} failed", account.Name, entry.SourceKey, Describe(effect));
            result = new SourceActionResult(false, $"{e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }
        catch (Exception e) when (e is TransientActionException or MailSourceException)
        {
            var failedEffect = effect with { Attempts = effect.Attempts + 1, Detail = e.Message, UpdatedAt = services.Time.GetUtcNow() };
            await services.State.UpdateSideEffectAsync(failedEffect, cancellationToken).ConfigureAwait(false);
            effects[index] = failedEffect;
            actions.Add(Describe(failedEffect));
            var retried = await FailAsync(entry, e.Message, poison: false, cancellationToken).ConfigureAwait(false);
            if (retried.State == MessageState.Failed)
            {
                await GiveUpAsync(effects, e.Message, cancellationToken).ConfigureAwait(false);
            }

            if (e is MailSourceException && handler.OnMessage)
            {
                throw; // The mailbox itself is gone: end this run; the message continues next time.
            }

            return Report(retried, actions, isNew);
        }

        var state = result.Done ? SideEffectState.Done
            : result == SourceActionResult.Gone ? SideEffectState.Skipped
            : handler.NotDone;
        var updated = effect with { State = state, Attempts = effect.Attempts + 1, Detail = result.Detail, UpdatedAt = services.Time.GetUtcNow() };
        if (state == SideEffectState.Done && result.Location is { } movedTo)
        {
            await services.State.RecordMoveAsync(updated, movedTo, cancellationToken).ConfigureAwait(false); // Where a retry finds it.
        }
        else
        {
            await services.State.UpdateSideEffectAsync(updated, cancellationToken).ConfigureAwait(false);
        }
        effects[index] = updated;
        actions.Add(Describe(updated));
        if (state != SideEffectState.Done)
        {
            _logger.LogWarning("{Account}: {Key}: {Action}", account.Name, entry.SourceKey, Describe(updated));
        }

        return null;
    }

    /// <summary>Counts a failed attempt: retry after the backoff, or failed for good after the last attempt.</summary>
    /// <param name="poison">Give up now: another attempt would fail the same way.</param>
    private async Task<LedgerEntry> FailAsync(LedgerEntry entry, string error, bool poison, CancellationToken cancellationToken)
    {
        var attempts = entry.Attempts + 1;
        var now = services.Time.GetUtcNow();
        var givenUp = poison || attempts >= services.Retry.MaxAttempts;
        var failed = entry with
        {
            State = givenUp ? MessageState.Failed : MessageState.Retry,
            Attempts = attempts,
            NextAttempt = givenUp ? null : now + services.Retry.Delay(attempts),
            Error = poison ? $"gave up at once: {error}" : givenUp ? $"gave up after {attempts} attempts: {error}" : error,
            UpdatedAt = now,
        };
        if (entry.DecisionJson is null)
        {
            await services.State.RecordAsync(failed, [], cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await services.State.UpdateMessageAsync(failed, cancellationToken).ConfigureAwait(false);
        }

        if (givenUp)
        {
            _logger.LogError("{Account}: {Key} failed for good and stays where it is: {Error}", account.Name, entry.SourceKey, failed.Error);
        }
        else
        {
            _logger.LogWarning("{Account}: {Key}: {Error}; next attempt at {Next:u}", account.Name, entry.SourceKey, error, failed.NextAttempt);
        }

        return failed;
    }

    private async Task GiveUpAsync(IReadOnlyList<SideEffect> effects, string error, CancellationToken cancellationToken)
    {
        foreach (var effect in effects.Where(e => e.State == SideEffectState.Pending))
        {
            await services.State.UpdateSideEffectAsync(
                effect with { State = SideEffectState.Failed, Detail = $"given up: {error}", UpdatedAt = services.Time.GetUtcNow() },
                cancellationToken).ConfigureAwait(false);
        }
    }

    private MessageAnalysis FirstAnalysis(LedgerEntry entry, IncomingVerdict verdict, DateTimeOffset now) => new()
    {
        Account = account.Name,
        Folder = entry.Folder,
        SourceKey = entry.SourceKey,
        Version = 1,
        AnalysedAt = now,
        Trigger = AnalysisTrigger.Fetch,
        SecurityJson = entry.SecurityJson!,
        DecisionJson = entry.DecisionJson!,
        Tags = entry.Tags,
        SecurityFailed = SecurityStatus.Failed(verdict.Security),
    };

    private LedgerEntry NewEntry(SourceMessage message, string folder, string hash, DateTimeOffset now) => new()
    {
        Account = account.Name,
        Folder = folder,
        SourceKey = message.SourceKey,
        UidValidity = message.UidValidity,
        Uid = message.Uid,
        ContentHash = hash,
        State = MessageState.Processing,
        FirstSeen = now,
        UpdatedAt = now,
    };

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

    private string Describe(SideEffect effect)
    {
        var what = services.ActionFor(effect.Kind).Describe(effect);
        var state = effect.State switch
        {
            SideEffectState.Done => "done",
            SideEffectState.Skipped => "skipped",
            SideEffectState.Failed => "failed",
            _ => "pending",
        };
        return effect.Detail is null ? $"{what}: {state}" : $"{what}: {state} ({effect.Detail})";
    }
}
