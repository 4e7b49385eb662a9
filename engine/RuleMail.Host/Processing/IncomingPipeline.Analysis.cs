using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using RuleMail.Application;
using RuleMail.Json;
using RuleMail.Host.Actions;
using RuleMail.Host.Transport;
using RuleMail.Host.State;
using RuleMail.Rules;

namespace RuleMail.Host.Processing;

/// <summary>The analysis half: spool the message, judge it through <see cref="IncomingAnalysis"/>, and record it with its whole plan in one transaction (or as failed, to retry).</summary>
internal sealed partial class IncomingPipeline
{
    /// <param name="batch">Where an analysis that plans nothing waits for its commit (see <see cref="DoneBatch"/>);
    /// <see langword="null"/> to record each at once. Such an analysis returns neither an entry nor a report: the batch
    /// reports it once committed.</param>
    private async Task<(LedgerEntry? Entry, ProcessedMessage? Report)> AnalyseAsync(
        IMailSource source, SourceMessage message, LedgerEntry? previous, DoneBatch? batch, CancellationToken cancellationToken)
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
            && (batch?.SameContent(hash, message.SourceKey)
                ?? await services.State.FindByContentHashAsync(account.Name, source.Folder, hash, cancellationToken).ConfigureAwait(false)) is { } same
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
            await RecordAsync(source, message, duplicate, [], batch, cancellationToken).ConfigureAwait(false);
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
            using var verdict = services.Incoming.Analyse(spool, account.Address);
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
            var plan = SideEffectPlan.Build(services, new ActionPlanning(account, entry, verdict) { Received = spool });
            if (plan.Count == 0)
            {
                entry = entry with { State = MessageState.Done }; // Nothing to do: one write, not two.
            }

            var analysis = MessageAnalysis.Of(entry, 1, AnalysisTrigger.Fetch, SecurityStatus.Failed(verdict.Security), now);
            if (plan.Count == 0 && batch is not null)
            {
                var ifFailed = NewEntry(message, source.Folder, hash, now) with { Attempts = previous?.Attempts ?? 0, FirstSeen = previous?.FirstSeen ?? now };
                batch.Items.Add(new Pending(new DoneAnalysis(entry, analysis), message, verdict.Rules.Errors, IsNew: previous is null, ifFailed));
                return (null, null);
            }

            await services.State.RecordAnalysisAsync(entry, analysis, plan, cancellationToken).ConfigureAwait(false);
            await RecordedAsync(source, message, batch, cancellationToken).ConfigureAwait(false);
            foreach (var error in verdict.Rules.Errors)
            {
                _logger.LogWarning("{Account}: {Key}: a rule failed and was skipped: {Error}", account.Name, message.SourceKey, error);
            }

            return (entry, null);
        }
        catch (Exception e) when (e is not (OperationCanceledException or MailSourceException or Cluster.FencedOffException or Npgsql.NpgsqlException))
        {
            // Nothing throws past a message: record it, retry with backoff, give up (poison) after the last attempt —
            // at once when it ran out of memory, which it would do again on every attempt (and take others with it).
            if (e is OutOfMemoryException)
            {
                _logger.LogError("{Account}: {Key} ran out of memory while it was analysed; given up at once and left where it is", account.Name, message.SourceKey);
            }

            var failed = await FailAsync(NewEntry(message, source.Folder, hash, now) with { Attempts = previous?.Attempts ?? 0, FirstSeen = previous?.FirstSeen ?? now },
                $"cannot be processed: {e.GetType().Name}: {e.Message.Split('\n')[0]}", poison: e is OutOfMemoryException, cancellationToken).ConfigureAwait(false);
            await RecordedAsync(source, message, batch, cancellationToken).ConfigureAwait(false);
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

    private async Task RecordAsync(IMailSource source, SourceMessage message, LedgerEntry entry, IReadOnlyList<SideEffect> plan, DoneBatch? batch, CancellationToken cancellationToken)
    {
        await services.State.RecordAsync(entry, plan, cancellationToken).ConfigureAwait(false);
        await RecordedAsync(source, message, batch, cancellationToken).ConfigureAwait(false);
    }


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
}
