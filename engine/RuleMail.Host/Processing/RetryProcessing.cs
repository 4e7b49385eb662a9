using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using RuleMail.Application;
using RuleMail.Crypto;
using RuleMail.Json;
using RuleMail.Host.Actions;
using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Host.Transport;
using RuleMail.Rules;

namespace RuleMail.Host.Processing;

/// <summary>
/// Judges processed messages again with today's keys and rules (Zammad's "retry security process"): for each selected
/// ledger entry, read the raw message from where it is now, analyse it through <see cref="IncomingAnalysis"/>, and when the
/// result differs from the latest analysis, record it as the next version with the plan of the difference and carry that
/// out as the fetch does. <c>rulemail retry</c> and the HTTP API's retry call it; the host lock keeps it from running
/// beside a fetch on the same state.
/// </summary>
/// <remarks>
/// <para>Exactly once per analysis version: the new analysis and its plan are recorded in one transaction before anything
/// runs; its side effects are keyed by the version, so none of an earlier analysis runs again, and a retry that comes
/// to the same security result and decision as the latest analysis records nothing and does nothing (running it again
/// changes nothing more).</para>
/// <para>The plan is the difference (<see cref="EarlierOutcome"/>): keywords earlier analyses set that the new decision
/// does not are removed, its own keywords are set, a message that now passes and whose decision moves nowhere goes back
/// from wherever an earlier analysis moved it to the folder it was fetched from, and the new decision's webhooks and
/// notices run (their payload says <c>"analysis": N</c>). A move's new place is recorded (IMAP: the UID the server gives
/// with UIDPLUS), so the next fetch knows the message under its new key and neither judges it again nor repeats anything.</para>
/// </remarks>
internal sealed class RetryProcessing(HostServices services, AccountConfig account, IMailSource source, IMailTransport? transport)
{
    private readonly ILogger _logger = services.Logging.CreateLogger("RuleMail.Retry");

    /// <summary>Judges the account's selected messages again, one after another. Server trouble ends it early with <see cref="RetryReport.Error"/> set.</summary>
    public async Task<RetryReport> RunAsync(RetrySelection selection, string description, IProgress<RetriedMessage>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(selection);
        var report = new RetryReport(account.Name, description);
        var entries = await services.State.AnalysedMessagesAsync(selection.For(account.Name), cancellationToken).ConfigureAwait(false);
        if (entries.Count == 0)
        {
            return report;
        }

        try
        {
            await source.ConnectAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (MailSourceException e)
        {
            report.Error = e.Message;
            return report;
        }

        var pipeline = new IncomingPipeline(services, account, transport);
        foreach (var entry in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            RetriedMessage retried;
            try
            {
                // Once begun, a message is finished: the record after an irreversible step is never cancelled.
                retried = await JudgeAgainAsync(pipeline, entry, CancellationToken.None).ConfigureAwait(false);
            }
            catch (MailSourceException e)
            {
                report.Error = e.Message;
                Add(report, Failed(entry, e.Message), progress);
                break; // The mailbox is gone: the rest waits for the next retry.
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A bug on one message must not stop the others; nothing recorded for it runs again.
                _logger.LogError(e, "{Account}: {Key} could not be judged again", account.Name, entry.SourceKey);
                retried = Failed(entry, $"cannot be judged again: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
            }

            Add(report, retried, progress);
        }

        return report;
    }

    private void Add(RetryReport report, RetriedMessage retried, IProgress<RetriedMessage>? progress)
    {
        report.Messages.Add(retried);
        _logger.LogInformation("{Account}: {Key} judged again: {Outcome} (analysis {Before} → {After}); {Actions}",
            account.Name, retried.SourceKey, retried.Outcome.ToString().ToLowerInvariant(), retried.PreviousVersion, retried.Version,
            retried.Actions.Count == 0 ? "nothing done" : string.Join("; ", retried.Actions));
        progress?.Report(retried);
    }

    private async Task<RetriedMessage> JudgeAgainAsync(IncomingPipeline pipeline, LedgerEntry entry, CancellationToken cancellationToken)
    {
        if (entry.State is MessageState.Processing or MessageState.Retry)
        {
            // Planning anew now could repeat or drop what is still pending; the fetch finishes it first.
            return Before(entry) with
            {
                Outcome = RetryOutcome.Skipped,
                Reason = $"the plan of analysis {entry.AnalysisVersion} is still being carried out ({entry.State.ToString().ToLowerInvariant()}"
                    + (entry.NextAttempt is { } next ? $", next attempt after {next:u}" : string.Empty) + "); the next fetch finishes it, then retry again",
            };
        }

        await using var spool = SpoolFile.Create(services.SpoolDirectory);
        if (await LocateAsync(entry, spool, cancellationToken).ConfigureAwait(false) is not { } location)
        {
            var where = entry.Location ?? MessageLocation.FetchedPlace(entry);
            return Failed(entry, $"not found in {where.Folder} any more, nor by its Message-ID and content (moved or deleted outside RuleMail?)");
        }

        spool.Position = 0;
        using var verdict = services.Incoming.Analyse(spool, account.Address);
        var securityJson = ContractJson.Serialize(verdict.Security);
        var decisionJson = DecisionJson.Serialize(verdict.Decision);
        if (SameJson(securityJson, entry.SecurityJson) && SameJson(decisionJson, entry.DecisionJson))
        {
            return Before(entry) with
            {
                Outcome = RetryOutcome.Unchanged,
                SecurityAfter = verdict.Security,
                DecisionAfterJson = decisionJson,
                Location = location,
                State = entry.State,
            };
        }

        var version = (entry.AnalysisVersion ?? 0) + 1;
        var now = services.Time.GetUtcNow();
        var effects = await services.State.SideEffectsAsync(entry.Account, entry.Folder, entry.SourceKey, cancellationToken).ConfigureAwait(false);
        var judged = entry with
        {
            State = MessageState.Processing,
            Attempts = 0,
            NextAttempt = null,
            Error = null,
            MessageId = verdict.Message.MessageId ?? entry.MessageId,
            Subject = verdict.Message.Subject,
            From = verdict.Message.From.Mailboxes.FirstOrDefault()?.Address,
            SecurityJson = securityJson,
            DecisionJson = decisionJson,
            Tags = verdict.Decision.Tag,
            AnalysisVersion = version,
            Location = location,
            UpdatedAt = now,
        };
        var planning = new ActionPlanning(account, judged, verdict)
        {
            AnalysisVersion = version,
            Earlier = EarlierOutcome.From(judged, effects),
            Received = spool,
        };
        var plan = SideEffectPlan.Build(services, planning);
        if (plan.Count == 0)
        {
            judged = judged with { State = MessageState.Done };
        }

        await services.State.RecordAnalysisAsync(judged, MessageAnalysis.Of(judged, judged.AnalysisVersion!.Value, AnalysisTrigger.Retry, SecurityStatus.Failed(verdict.Security), now), plan, cancellationToken).ConfigureAwait(false);
        foreach (var error in verdict.Rules.Errors)
        {
            _logger.LogWarning("{Account}: {Key}: a rule failed and was skipped: {Error}", account.Name, entry.SourceKey, error);
        }

        var changed = Before(entry) with
        {
            Outcome = RetryOutcome.Changed,
            Version = version,
            Subject = judged.Subject,
            From = judged.From,
            SecurityAfter = verdict.Security,
            DecisionAfterJson = decisionJson,
            Location = location,
            State = judged.State,
        };
        if (plan.Count == 0)
        {
            return changed;
        }

        var processed = await pipeline.CarryOutRecordedAsync(source, judged, cancellationToken).ConfigureAwait(false);
        var after = await services.State.FindMessagesAsync(entry.Account, entry.Folder, [entry.SourceKey], cancellationToken).ConfigureAwait(false);
        return changed with
        {
            Outcome = processed.State == MessageState.Failed || processed.FailedSteps > 0 ? RetryOutcome.Failed : RetryOutcome.Changed,
            Actions = processed.Actions,
            State = processed.State,
            Reason = processed.Error,
            NextAttempt = processed.NextAttempt,
            FailedSteps = processed.FailedSteps,
            Location = after.TryGetValue(entry.SourceKey, out var recorded) ? recorded.Location ?? location : location,
        };
    }

    /// <summary>
    /// Reads the message into <paramref name="spool"/> from where the ledger says it is; when it is not there (its key
    /// there unknown, or moved by a person), where it was fetched, then by its Message-ID in those two folders. Only
    /// bytes with the recorded content hash count: this is the message that was judged before, unchanged.
    /// </summary>
    /// <returns>Where it was found; null when it is nowhere to be found.</returns>
    private async Task<MessageLocation?> LocateAsync(LedgerEntry entry, FileStream spool, CancellationToken cancellationToken)
    {
        var recorded = entry.Location ?? MessageLocation.FetchedPlace(entry);
        var candidates = new List<MessageLocation>();
        if (recorded.Key is not null)
        {
            candidates.Add(recorded);
        }

        // Where it was fetched: a person may have moved it back (a Maildir file keeps its name; an IMAP UID never returns).
        if (MessageLocation.FetchedPlace(entry) is var fetched && fetched != recorded)
        {
            candidates.Add(fetched);
        }

        foreach (var candidate in candidates.Concat(await OthersAsync(entry, recorded, cancellationToken).ConfigureAwait(false)))
        {
            spool.SetLength(0);
            if (await source.CopyToAsync(candidate, spool, cancellationToken).ConfigureAwait(false))
            {
                spool.Position = 0;
                var hash = Convert.ToHexStringLower(await SHA256.HashDataAsync(spool, cancellationToken).ConfigureAwait(false));
                if (string.Equals(hash, entry.ContentHash, StringComparison.Ordinal))
                {
                    if (candidate != recorded)
                    {
                        _logger.LogInformation("{Account}: {Key} was not at {Recorded}; found at {Found}", account.Name, entry.SourceKey, recorded, candidate);
                    }

                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>Where else the message may be: messages with its Message-ID in its recorded folder, then in the one it was fetched from.</summary>
    private async Task<IEnumerable<MessageLocation>> OthersAsync(LedgerEntry entry, MessageLocation recorded, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(entry.MessageId))
        {
            return [];
        }

        var found = new List<MessageLocation>();
        foreach (var folder in new[] { recorded.Folder, entry.Folder }.Distinct(StringComparer.Ordinal))
        {
            found.AddRange((await source.FindAsync(folder, entry.MessageId, cancellationToken).ConfigureAwait(false)).Where(l => l != recorded));
        }

        return found;
    }


    /// <summary>Equal as JSON values (the stored text may differ in spacing or key order, never in meaning).</summary>
    private static bool SameJson(string current, string? stored) =>
        stored is not null && JsonNode.DeepEquals(JsonNode.Parse(current), JsonNode.Parse(stored));

    private static RetriedMessage Before(LedgerEntry entry) => new()
    {
        Account = entry.Account,
        Folder = entry.Folder,
        SourceKey = entry.SourceKey,
        Subject = entry.Subject,
        From = entry.From,
        Outcome = RetryOutcome.Skipped,
        PreviousVersion = entry.AnalysisVersion,
        Version = entry.AnalysisVersion,
        SecurityBefore = HostJson.Deserialize<SecurityResult>(entry.SecurityJson),
        DecisionBeforeJson = entry.DecisionJson,
        Location = entry.Location ?? MessageLocation.FetchedPlace(entry),
        State = entry.State,
    };

    private static RetriedMessage Failed(LedgerEntry entry, string reason) => Before(entry) with { Outcome = RetryOutcome.Failed, Reason = reason };
}
