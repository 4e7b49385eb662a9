using Microsoft.Extensions.Logging;
using RuleMail.Host.Actions;
using RuleMail.Host.Transport;
using RuleMail.Host.State;

namespace RuleMail.Host.Processing;

/// <summary>The plan half: carry out a recorded plan step by step through the action handlers, recording each outcome; transient trouble is retried with backoff.</summary>
internal sealed partial class IncomingPipeline
{
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
            catch (Cluster.FencedOffException e)
            {
                _logger.LogWarning("{Account}: {Key}: {Reason}", account.Name, entry.SourceKey, e.Message);
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
            services.Metrics.Action(account.Name, effect.Kind, retried.State == MessageState.Failed ? "failed" : "retry");
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
        services.Metrics.Action(account.Name, effect.Kind, RuleMailMetrics.OutcomeOf(state));
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
