using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using MimeKit;
using RuleMail.Application;
using RuleMail.Host.Configuration;
using RuleMail.Host.Transport;
using RuleMail.Host.State;

namespace RuleMail.Host.Processing;

/// <summary>
/// One account's outbox, once through. Each <c>*.eml</c> a ticket system dropped goes through the outgoing use case
/// (<see cref="OutgoingProcessing.ProcessSubmitted"/>: its <c>X-RuleMail-Sign/Encrypt/Type</c> choice headers, the
/// outgoing rules, the key store) and its copies are handed to SMTP or the pickup folder — or it is held with its
/// reason, never sent as plaintext when encryption was required.
/// </summary>
/// <remarks>
/// Files are never deleted: a sent file moves to <c>sent/</c>, a held one to <c>held/</c> (move it back to try
/// again, for example after importing a key), one that failed for good to <c>failed/</c> (refused by the server, or
/// failing to go through its attempts while the server was reachable; a server that is down or refuses the login
/// never uses them up, so an outage only delays the outbox). The ledger records the
/// state before the file moves, so a crash between the two is finished on the next run, never repeated. A message
/// goes out as one copy for To/Cc and one per Bcc recipient, and the ledger records each copy the server accepted
/// (<see cref="OutboxEntry.Delivered"/>) before the next one goes: a 4xx, a refused copy or a crash part-way sends
/// only the copies still missing when it is tried (or released) again. The <c>sending</c> state marks the one
/// window (SMTP accepted a copy, ledger not yet written) in which a crash makes the next run send that copy again —
/// with the same Message-ID; a pickup file that is there counts as delivered.
/// </remarks>
internal sealed class OutboxSender(HostServices services, AccountConfig account, string outbox, IMailTransport transport, ImapSentCopy? sentCopy = null)
{
    public const string SentFolder = "sent";
    public const string HeldFolder = "held";
    public const string FailedFolder = "failed";
    private readonly ILogger _logger = services.Logging.CreateLogger("RuleMail.Send");

    public async Task<SendReport> RunAsync(IProgress<SentMessage>? progress, CancellationToken cancellationToken)
    {
        var report = new SendReport(account.Name, transport.Describe);
        foreach (var file in List(outbox))
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                await SendOneAsync(file, report, progress).ConfigureAwait(false);
            }
            catch (MailSourceException e)
            {
                report.Error = e.Message;
                break; // The destination is down: the rest waits for the next run.
            }
        }

        return report;
    }

    /// <summary>
    /// The files waiting in the outbox, oldest first: what one run goes through, and what a cluster's send tick queues
    /// for the workers (each of which then sends one with <see cref="SendOneAsync"/>).
    /// </summary>
    public static IReadOnlyList<FileInfo> List(string outbox)
    {
        if (!Directory.Exists(outbox))
        {
            Directory.CreateDirectory(outbox);
        }

        return [.. new DirectoryInfo(outbox).GetFiles("*.eml").OrderBy(f => f.LastWriteTimeUtc).ThenBy(f => f.Name, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Sends (or holds, or files away) one outbox file, added to <paramref name="report"/> and told to
    /// <paramref name="progress"/> when it did something. A file taken away meanwhile, empty, not yet due or finished
    /// before is left as it is. Finished once begun: the ledger write after SMTP's 250 is never cancelled.
    /// </summary>
    /// <exception cref="MailSourceException">The destination is down or failed this message: the caller stops its run.</exception>
    public async Task SendOneAsync(FileInfo file, SendReport report, IProgress<SentMessage>? progress)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(report);
        var sent = await SendAsync(file, report, CancellationToken.None).ConfigureAwait(false);
        Reported(sent, report, progress);
    }

    /// <summary>
    /// Files one outbox file in <c>failed/</c> without trying it (a cluster gives up a file every node that took it died
    /// on), unless it was sent already; a release tries it again.
    /// </summary>
    public async Task GiveUpAsync(FileInfo file, string reason, SendReport report, IProgress<SentMessage>? progress)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(report);
        byte[] raw;
        try
        {
            raw = await File.ReadAllBytesAsync(file.FullName, CancellationToken.None).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            return; // Taken away by someone else meanwhile.
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(raw));
        var entry = await services.State.FindOutboxAsync(account.Name, file.Name, hash, CancellationToken.None).ConfigureAwait(false)
            ?? new OutboxEntry { Account = account.Name, FileName = file.Name, ContentHash = hash, State = OutboxState.Queued, UpdatedAt = services.Time.GetUtcNow() };
        if (entry.State == OutboxState.Sent)
        {
            FileInto(file, SentFolder);
            return;
        }

        Reported(await FinishAsync(file, entry, OutboxState.Failed, reason, null, FailedFolder, CancellationToken.None).ConfigureAwait(false), report, progress);
    }

    private static void Reported(SentMessage? sent, SendReport report, IProgress<SentMessage>? progress)
    {
        if (sent is not null)
        {
            report.Messages.Add(sent);
            progress?.Report(sent);
        }
    }

    private async Task<SentMessage?> SendAsync(FileInfo file, SendReport report, CancellationToken cancellationToken)
    {
        byte[] raw;
        try
        {
            raw = await File.ReadAllBytesAsync(file.FullName, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            return null; // Taken away by someone else meanwhile.
        }

        if (raw.Length == 0)
        {
            return null; // Created but not yet written: the next run looks again.
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(raw));
        var now = services.Time.GetUtcNow();
        var entry = await services.State.FindOutboxAsync(account.Name, file.Name, hash, cancellationToken).ConfigureAwait(false)
            ?? new OutboxEntry { Account = account.Name, FileName = file.Name, ContentHash = hash, State = OutboxState.Queued, UpdatedAt = now };

        switch (entry.State)
        {
            case OutboxState.Sent:
                FileInto(file, SentFolder); // Sent before a crash kept the file from moving.
                return null;
            case OutboxState.Failed when entry.NextAttempt is null:
                FileInto(file, FailedFolder);
                return null;
            case OutboxState.Queued or OutboxState.Failed when entry.NextAttempt > now:
                report.Waiting++;
                return null;
        }

        MimeMessage message;
        try
        {
            using var stream = new MemoryStream(raw, writable: false);
            message = await MimeMessage.LoadAsync(stream, cancellationToken).ConfigureAwait(false);
        }
        catch (FormatException e)
        {
            return await FinishAsync(file, entry, OutboxState.Failed, $"not a mail message: {e.Message}", null, FailedFolder, cancellationToken).ConfigureAwait(false);
        }

        var to = string.Join(", ", message.To.Mailboxes.Concat(message.Cc.Mailboxes).Select(m => m.Address));
        var outcome = services.Outgoing.ProcessSubmitted(message, account.Address);
        if (outcome.IsHeld)
        {
            return await FinishAsync(file, entry, OutboxState.Held, outcome.Hold, message, HeldFolder, cancellationToken).ConfigureAwait(false);
        }

        var copies = outcome.Copies;
        var messageId = copies[0].Message.MessageId!;
        if (entry.State == OutboxState.Sending)
        {
            // A crash in the sending window: what certainly arrived (a pickup file) counts as delivered; SMTP cannot tell.
            var found = copies.Where(c => !entry.Delivered.Contains(c.Key) && transport.AlreadyDelivered(c)).Select(c => c.Key).ToList();
            if (found.Count > 0)
            {
                entry = entry with { Delivered = [.. entry.Delivered, .. found] };
            }
        }

        // Each copy goes once: one delivered on an earlier attempt (before a 4xx, a refused Bcc copy, a crash) is skipped.
        var pending = copies.Where(c => !entry.Delivered.Contains(c.Key)).ToList();
        if (pending.Count == 0)
        {
            return await FinishAsync(file, entry, OutboxState.Sent, outcome.Description, message, SentFolder, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await transport.ConnectAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (MailSourceException e)
        {
            // The destination is down or refuses the login: no fault of this message, so it waits without using up
            // its attempts (an outage must never file messages in failed/); the job's own backoff spaces the runs.
            var retry = services.Time.GetUtcNow() + services.Retry.Delay(1);
            if (entry.State != OutboxState.Sending) // One that may have gone out before stays marked so.
            {
                var waiting = entry with { State = OutboxState.Queued, NextAttempt = retry, Reason = e.Message, UpdatedAt = services.Time.GetUtcNow() };
                await services.State.SaveOutboxAsync(waiting, cancellationToken).ConfigureAwait(false);
            }

            report.Messages.Add(new SentMessage(file.Name, message.Subject, to, OutboxState.Queued, e.Message) { NextAttempt = retry });
            throw;
        }

        if (entry.State == OutboxState.Sending)
        {
            _logger.LogWarning("{Account}: {File} may have been sent before the last run stopped; sending the {Pending} of its {Copies} copies not recorded as sent again, with the same Message-ID {MessageId}",
                account.Name, file.Name, pending.Count, copies.Count, messageId);
        }

        entry = entry with { State = OutboxState.Sending, MessageId = messageId, UpdatedAt = services.Time.GetUtcNow() };
        await services.State.SaveOutboxAsync(entry, cancellationToken).ConfigureAwait(false);
        await services.State.SealAsync(cancellationToken).ConfigureAwait(false); // A lost "sent" record must be detected, not resent.
        foreach (var copy in pending)
        {
            try
            {
                await transport.SendAsync(copy, cancellationToken).ConfigureAwait(false);
            }
            catch (MailRejectedException e)
            {
                // Refused for good: the copies that went out stay recorded, so a release sends only the rest.
                var reason = entry.Delivered.Count == 0 && copies.Count == 1
                    ? e.Message
                    : $"{Progress(copies, entry.Delivered, "nothing sent")}; {CopyName(copy)} was refused: {e.Message}";
                return await FinishAsync(file, entry, OutboxState.Failed, reason, message, FailedFolder, cancellationToken).ConfigureAwait(false);
            }
            catch (MailSourceException e)
            {
                var attempts = entry.Attempts + 1;
                var givenUp = attempts >= services.Retry.MaxAttempts;
                var reason = givenUp ? $"gave up after {attempts} attempts: {e.Message}" : e.Message;
                var failed = entry with
                {
                    State = givenUp ? OutboxState.Failed : OutboxState.Queued,
                    Attempts = attempts,
                    NextAttempt = givenUp ? null : services.Time.GetUtcNow() + services.Retry.Delay(attempts),
                    Reason = entry.Delivered.Count == 0 ? reason : $"{reason}; {Progress(copies, entry.Delivered, null)} so far, the rest {(givenUp ? "was not sent" : "goes at the next attempt")}",
                    UpdatedAt = services.Time.GetUtcNow(),
                };
                await services.State.SaveOutboxAsync(failed, cancellationToken).ConfigureAwait(false);
                if (givenUp)
                {
                    FileInto(file, FailedFolder);
                }

                report.Messages.Add(new SentMessage(file.Name, message.Subject, to, failed.State, failed.Reason) { NextAttempt = failed.NextAttempt });
                throw;
            }

            // Recorded (durably, and sealed: the next copy is a side effect) before the next copy goes, so a crash from here
            // on resends at most the copy in flight, never one the server already took.
            entry = entry with { Delivered = [.. entry.Delivered, copy.Key], UpdatedAt = services.Time.GetUtcNow() };
            await services.State.SaveOutboxAsync(entry, cancellationToken).ConfigureAwait(false);
            await services.State.SealAsync(cancellationToken).ConfigureAwait(false);
        }

        var sent = await FinishAsync(file, entry, OutboxState.Sent, outcome.Description, message, SentFolder, cancellationToken).ConfigureAwait(false);
        return sentCopy is null ? sent : await CopyToSentAsync(sent, copies[0].Message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Which of <paramref name="copies"/> went out, for a reason: "sent to To/Cc and 1 of 2 Bcc copies";
    /// <paramref name="none"/> when none did.
    /// </summary>
    private static string? Progress(IReadOnlyList<OutgoingCopy> copies, IReadOnlyList<string> delivered, string? none)
    {
        var parts = new List<string>(2);
        if (copies.Any(c => c.BccRecipient is null && delivered.Contains(c.Key)))
        {
            parts.Add("To/Cc");
        }

        var bcc = copies.Count(c => c.BccRecipient is not null);
        var bccDelivered = copies.Count(c => c.BccRecipient is not null && delivered.Contains(c.Key));
        if (bccDelivered > 0)
        {
            parts.Add($"{bccDelivered} of {bcc} Bcc {(bcc == 1 ? "copy" : "copies")}");
        }

        return parts.Count == 0 ? none : $"sent to {string.Join(" and ", parts)}";
    }

    private static string CopyName(OutgoingCopy copy) => copy.BccRecipient is null ? "the To/Cc copy" : $"the copy for bcc {copy.BccRecipient}";

    /// <summary>Best effort, after the send is recorded: a failed copy is reported, never a reason to send again.</summary>
    private async Task<SentMessage> CopyToSentAsync(SentMessage sent, MimeMessage finished, CancellationToken cancellationToken)
    {
        try
        {
            await sentCopy!.AppendAsync(finished, cancellationToken).ConfigureAwait(false);
            return sent with { Reason = $"{sent.Reason}; copy in {sentCopy.Folder}" };
        }
        catch (MailSourceException e)
        {
            _logger.LogWarning("{Account}: {File} was sent, but no copy could be kept in {Folder}: {Error}", account.Name, sent.FileName, sentCopy!.Folder, e.Message);
            return sent with { Reason = $"{sent.Reason}; no copy in {sentCopy.Folder}: {e.Message}" };
        }
    }

    private async Task<SentMessage> FinishAsync(FileInfo file, OutboxEntry entry, OutboxState state, string? reason, MimeMessage? message, string folder, CancellationToken cancellationToken)
    {
        var finished = entry with { State = state, Reason = reason, NextAttempt = null, UpdatedAt = services.Time.GetUtcNow() };
        await services.State.SaveOutboxAsync(finished, cancellationToken).ConfigureAwait(false);
        FileInto(file, folder);
        if (state != OutboxState.Sent)
        {
            _logger.LogWarning("{Account}: {File} {State}: {Reason}", account.Name, file.Name, state.ToString().ToLowerInvariant(), reason);
        }

        var to = message is null ? null : string.Join(", ", message.To.Mailboxes.Concat(message.Cc.Mailboxes).Select(m => m.Address));
        return new SentMessage(file.Name, message?.Subject, to, state, reason);
    }

    /// <summary>
    /// Moves the file into a subfolder of the outbox; when a file of the same name is already there, it is kept and
    /// this one gets a new name (the time, and a counter when that name is taken too: two in the same millisecond).
    /// </summary>
    private void FileInto(FileInfo file, string folder)
    {
        var target = Path.Combine(outbox, folder);
        Directory.CreateDirectory(target);
        var destination = Path.Combine(target, file.Name);
        var stamp = services.Time.GetUtcNow().ToUnixTimeMilliseconds();
        for (var n = 1; File.Exists(destination); n++)
        {
            var suffix = n == 1 ? $"{stamp}" : $"{stamp}-{n}";
            destination = Path.Combine(target, $"{Path.GetFileNameWithoutExtension(file.Name)}.{suffix}{file.Extension}");
        }

        try
        {
            File.Move(file.FullName, destination);
        }
        catch (FileNotFoundException)
        {
            // Already moved.
        }
    }
}
