using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using MimeKit;
using RuleMail.Composer;
using RuleMail.Host.Configuration;
using RuleMail.Host.Scheduling;
using RuleMail.Host.State;

namespace RuleMail.Host.Processing;

/// <summary>
/// The accounts' outboxes as the HTTP API uses them: put a message in (<see cref="EnqueueAsync"/>), see where messages
/// stand (<see cref="FindAsync"/>, <see cref="ListAsync"/>), and try a held or failed one again
/// (<see cref="ReleaseAsync"/>). It only ever writes files and outbox entries the way a ticket system's dropped file
/// and <see cref="OutboxSender"/> expect them: the send job judges every message by the rules and keys of the moment,
/// so nothing here can send a message, let alone send it unprotected. Thread-safe.
/// </summary>
/// <remarks>
/// A message's id is its file name without <c>.eml</c>; an enqueued one is named
/// <c>{UTC yyyyMMddTHHmmss}-{first 16 hex digits of its SHA-256}.eml</c>. Enqueueing is idempotent per account and
/// content: a ticket system that retries a POST which timed out gets the message it enqueued the first time, in
/// whatever state it is now (sent, even), and it is never sent twice. A message meant to go out twice needs content
/// of its own (its own Message-ID or Date).
/// </remarks>
public sealed class Outboxes : IDisposable
{
    private const string Extension = ".eml";
    private const string WaitsForRun = "waits for the next rulemail run: this process (rulemail serve) does not send";
    private static readonly SearchValues<char> NotInId = SearchValues.Create("/\\\0");

    private readonly HostServices _services;
    private readonly SendTrigger _trigger;
    private readonly ILogger _logger;

    // Enqueueing and releasing in this process go under one gate, so two identical POSTs racing cannot both find no entry
    // and write two files. On SQLite that is enough (one host per state: its lock); on PostgreSQL, whose nodes all serve
    // the API, the same section also holds a lock across the nodes on the account and content (SharedLockAsync).
    private readonly SemaphoreSlim _gate = new(1, 1);

    public Outboxes(HostServices services, SendTrigger trigger)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(trigger);
        _services = services;
        _trigger = trigger;
        _logger = services.Logging.CreateLogger("RuleMail.Outbox");
    }

    /// <summary>Whether this process sends (<c>rulemail run</c>); under <c>rulemail serve</c> the next <c>rulemail run</c> does.</summary>
    public bool Sends => _trigger.Schedules;

    /// <summary>The id of the message in <paramref name="fileName"/>: the name without <c>.eml</c>.</summary>
    public static string IdOf(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        return fileName.EndsWith(Extension, StringComparison.Ordinal) ? fileName[..^Extension.Length] : fileName;
    }

    /// <summary>
    /// Puts <paramref name="message"/> (the whole message as the ticket system wrote it, seekable, with its optional
    /// <c>X-RuleMail-Sign/Encrypt/Type</c> choice headers) into the account's outbox, recorded as queued, and starts
    /// the account's send job. The file appears whole (written under a temporary name, then renamed), so the send job
    /// never reads half a message. The same content enqueued again for the account is not written again.
    /// </summary>
    /// <param name="by">Who asked (the API token's name), for the log.</param>
    public async Task<OutboxOutcome> EnqueueAsync(string accountName, Stream message, string? by, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(accountName);
        ArgumentNullException.ThrowIfNull(message);
        if (!message.CanSeek)
        {
            throw new ArgumentException("the message must be seekable (it is read twice)", nameof(message));
        }

        var (account, refusal) = SendingAccount(accountName);
        if (account is null)
        {
            return refusal!;
        }

        message.Position = 0;
        var hash = Convert.ToHexStringLower(await SHA256.HashDataAsync(message, cancellationToken).ConfigureAwait(false));
        if (await WhyNotAMessageAsync(message, cancellationToken).ConfigureAwait(false) is { } problem)
        {
            return OutboxOutcome.Refused(OutboxRefusal.NotAMessage, problem);
        }

        var outbox = account.Send!.Outbox!;
        OutboxEntry entry;
        bool existing;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var shared = await SharedLockAsync(account.Name, hash, cancellationToken).ConfigureAwait(false);
            var knownEntries = await _services.State.FindOutboxByContentAsync(account.Name, hash, cancellationToken).ConfigureAwait(false);
            var known = knownEntries.Count == 0 ? null : knownEntries[0];
            existing = known is not null;
            if (known is not null)
            {
                entry = known;

                // Recorded but not renamed into the outbox (the process stopped in between, or the rename failed): put it there
                // now. While an entry is queued its file stays in the outbox root (the send job records another state first).
                if (known.State == OutboxState.Queued && !File.Exists(Path.Combine(outbox, known.FileName)))
                {
                    var temp = await WriteTemporaryAsync(message, outbox, known.FileName, cancellationToken).ConfigureAwait(false);
                    File.Move(temp, Path.Combine(outbox, known.FileName));
                }
            }
            else
            {
                var fileName = await NewFileNameAsync(account.Name, outbox, hash, cancellationToken).ConfigureAwait(false);
                var temp = await WriteTemporaryAsync(message, outbox, fileName, cancellationToken).ConfigureAwait(false);
                entry = new OutboxEntry
                {
                    Account = account.Name,
                    FileName = fileName,
                    ContentHash = hash,
                    State = OutboxState.Queued,
                    Reason = Sends ? null : WaitsForRun,
                    UpdatedAt = _services.Time.GetUtcNow(),
                };

                // Recorded before it is in the outbox: the send job that sees the file finds it queued, and its own later
                // "sent" or "held" can never be overwritten by this "queued". Not cancelled from here on.
                await _services.State.SaveOutboxAsync(entry, CancellationToken.None).ConfigureAwait(false);
                File.Move(temp, Path.Combine(outbox, fileName));
                _logger.LogInformation("{Account}: outbox {Id} queued by {By}", account.Name, IdOf(fileName), by ?? "the API");
            }
        }
        finally
        {
            _gate.Release();
        }

        var triggered = entry.State == OutboxState.Queued && await _trigger.TriggerAsync(account.Name, CancellationToken.None).ConfigureAwait(false);
        return new OutboxOutcome { Item = Item(outbox, entry), Existing = existing, Triggered = triggered };
    }

    /// <summary>The message with this id (in <paramref name="account"/>, or in any account when null).</summary>
    public async Task<OutboxOutcome> FindAsync(string id, string? account, CancellationToken cancellationToken)
    {
        var (entry, refusal) = await EntryAsync(id, account, cancellationToken).ConfigureAwait(false);
        return entry is null ? refusal! : new OutboxOutcome { Item = Item(OutboxOf(entry.Account), entry) };
    }

    /// <summary>The most recently changed messages, at most <paramref name="limit"/>, of one account and state or of all.</summary>
    public async Task<IReadOnlyList<OutboxItem>> ListAsync(string? account, OutboxState? state, int limit, CancellationToken cancellationToken)
    {
        var entries = await _services.State.ListOutboxAsync(account, state, limit, cancellationToken).ConfigureAwait(false);
        return [.. entries.Select(e => Item(OutboxOf(e.Account), e))];
    }

    /// <summary>
    /// Puts a held message, or one that failed for good, back into the outbox root as queued (its attempts start again)
    /// and starts the send job, which judges it again with the rules and keys of now: held again when a required
    /// protection is still impossible, never sent without it.
    /// </summary>
    /// <param name="by">Who asked (the API token's name), for the log.</param>
    public async Task<OutboxOutcome> ReleaseAsync(string id, string? account, string? by, CancellationToken cancellationToken)
    {
        var (found, refusal) = await EntryAsync(id, account, cancellationToken).ConfigureAwait(false);
        if (found is null)
        {
            return refusal!;
        }

        var (config, notSending) = SendingAccount(found.Account);
        if (config is null)
        {
            return notSending!;
        }

        var outbox = config.Send!.Outbox!;
        OutboxEntry released;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var shared = await SharedLockAsync(found.Account, found.ContentHash, cancellationToken).ConfigureAwait(false);

            // Read again under the gate: the send job may have moved on since.
            var entry = await _services.State.FindOutboxAsync(found.Account, found.FileName, found.ContentHash, cancellationToken).ConfigureAwait(false) ?? found;
            var folder = entry.State switch
            {
                OutboxState.Held => OutboxSender.HeldFolder,
                OutboxState.Failed => OutboxSender.FailedFolder,
                _ => null,
            };
            if (folder is null)
            {
                return OutboxOutcome.Refused(OutboxRefusal.WrongState,
                    $"{IdOf(entry.FileName)} is {StateName(entry.State)}: only a held or failed message can be released");
            }

            var source = Locate(Path.Combine(outbox, folder), entry, verify: true);
            if (source is null)
            {
                return OutboxOutcome.Refused(OutboxRefusal.FileMissing, File.Exists(Path.Combine(outbox, entry.FileName))
                    ? $"{IdOf(entry.FileName)} is {StateName(entry.State)} but still in the outbox; the next send run files it in {folder}/, release it after that"
                    : $"the file of {IdOf(entry.FileName)} is no longer in {folder}/ of the outbox: it cannot be released");
            }

            var target = Path.Combine(outbox, entry.FileName);
            if (File.Exists(target))
            {
                return OutboxOutcome.Refused(OutboxRefusal.FileMissing,
                    $"another file named {entry.FileName} waits in the outbox; release {IdOf(entry.FileName)} once that one was sent");
            }

            released = entry with
            {
                State = OutboxState.Queued,
                Attempts = 0,
                NextAttempt = null,
                Reason = Sends ? $"released from {folder}/: judged again with the rules and keys of now" : WaitsForRun,
                UpdatedAt = _services.Time.GetUtcNow(),
            };

            // Queued before the file is back: the send job never sees the file under its old state (failed would file it
            // away again at once). If the move fails, the old state is put back.
            await _services.State.SaveOutboxAsync(released, CancellationToken.None).ConfigureAwait(false);
            try
            {
                File.Move(source, target);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await _services.State.SaveOutboxAsync(entry, CancellationToken.None).ConfigureAwait(false);
                throw;
            }

            _logger.LogInformation("{Account}: outbox {Id} released from {Folder}/ by {By}", entry.Account, IdOf(entry.FileName), folder, by ?? "the API");
        }
        finally
        {
            _gate.Release();
        }

        var triggered = await _trigger.TriggerAsync(released.Account, CancellationToken.None).ConfigureAwait(false);
        return new OutboxOutcome { Item = Item(outbox, released), Triggered = triggered };
    }

    /// <summary>The state's name as the API and the state store write it (<c>queued</c>, <c>held</c>, ...).</summary>
    public static string StateName(OutboxState state) => state.ToString().ToLowerInvariant();

    /// <summary>The state <paramref name="name"/> names (case-insensitive), or null.</summary>
    public static OutboxState? ParseState(string? name) =>
        name is not null && Enum.TryParse<OutboxState>(name, ignoreCase: true, out var state) && !int.TryParse(name, out _) ? state : null;

    /// <summary>
    /// On a state several hosts share, the lock across them on one account's content (held until disposed); null on
    /// SQLite, where the gate of this one host is enough.
    /// </summary>
    private async Task<IAsyncDisposable?> SharedLockAsync(string account, string contentHash, CancellationToken cancellationToken) =>
        _services.State is ISharedLocks locks
            ? await locks.LockAsync($"outbox:{account}:{contentHash}", cancellationToken).ConfigureAwait(false)
            : null;

    private (AccountConfig? Account, OutboxOutcome? Refusal) SendingAccount(string name)
    {
        var account = _services.Config.Accounts.FirstOrDefault(a => a.Name == name);
        if (account is null)
        {
            return (null, OutboxOutcome.Refused(OutboxRefusal.UnknownAccount, $"no account named '{name}' in the configuration"));
        }

        return account.Send?.Outbox is null
            ? (null, OutboxOutcome.Refused(OutboxRefusal.AccountDoesNotSend, $"the account {name} does not send: it has no send.outbox in the configuration"))
            : (account, null);
    }

    private async Task<(OutboxEntry? Entry, OutboxOutcome? Refusal)> EntryAsync(string id, string? account, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        var where = account is null ? "" : $" in the account {account}";
        var unknown = OutboxOutcome.Refused(OutboxRefusal.UnknownId, $"no outbox message has the id '{id}'{where}");
        if (id.Length is 0 or > 255 || id is "." or ".." || id.AsSpan().ContainsAny(NotInId) || id.Any(char.IsControl))
        {
            return (null, unknown);
        }

        var entries = await _services.State.FindOutboxByFileAsync(account, id + Extension, cancellationToken).ConfigureAwait(false);
        if (entries.Count == 0)
        {
            return (null, unknown);
        }

        var accounts = entries.Select(e => e.Account).Distinct(StringComparer.Ordinal).ToList();
        if (accounts.Count > 1)
        {
            return (null, OutboxOutcome.Refused(OutboxRefusal.Ambiguous,
                $"the id '{id}' names messages of the accounts {string.Join(", ", accounts)}: add ?account=NAME"));
        }

        // A name the ticket system used again for other content has an entry per content: the latest is the message.
        return (entries[0], null);
    }

    private string? OutboxOf(string account) =>
        _services.Config.Accounts.FirstOrDefault(a => a.Name == account)?.Send?.Outbox;

    /// <summary>The entry with the subject and To/Cc of its file, where its state says it is; without them when it is not there.</summary>
    private static OutboxItem Item(string? outbox, OutboxEntry entry)
    {
        if (outbox is null)
        {
            return new OutboxItem(entry, null, null);
        }

        var folder = entry.State switch
        {
            OutboxState.Held => OutboxSender.HeldFolder,
            OutboxState.Failed => OutboxSender.FailedFolder,
            OutboxState.Sent => OutboxSender.SentFolder,
            _ => null,
        };

        // The root too: the send job records a state before it moves the file there.
        var path = (folder is null ? null : Locate(Path.Combine(outbox, folder), entry, verify: false)) ?? Locate(outbox, entry, verify: false);
        return path is null ? new OutboxItem(entry, null, null) : ReadHeaders(entry, path);
    }

    /// <summary>
    /// The entry's file in <paramref name="folder"/>: under its name, or under the name <see cref="OutboxSender"/> gives a
    /// file when one of the same name is already in the folder (<c>NAME.STAMP.eml</c>, checked by content). With
    /// <paramref name="verify"/> the file under its own name must have the entry's content too (it is about to be moved).
    /// </summary>
    private static string? Locate(string folder, OutboxEntry entry, bool verify)
    {
        var path = Path.Combine(folder, entry.FileName);
        if (File.Exists(path) && (!verify || HashOf(path) == entry.ContentHash))
        {
            return path;
        }

        if (!Directory.Exists(folder))
        {
            return null;
        }

        var stem = IdOf(entry.FileName);
        return Directory.EnumerateFiles(folder, $"{stem}.*{Extension}")
            .Where(f => f != path && Path.GetFileName(f).Length > entry.FileName.Length)
            .FirstOrDefault(f => HashOf(f) == entry.ContentHash);
    }

    private static string? HashOf(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            return Convert.ToHexStringLower(SHA256.HashData(file));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // Moved meanwhile.
        }
    }

    private static OutboxItem ReadHeaders(OutboxEntry entry, string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            var headers = HeaderList.Load(file);
            var to = new List<string>();
            foreach (var header in headers.Where(h => h.Id is HeaderId.To or HeaderId.Cc))
            {
                if (InternetAddressList.TryParse(header.Value, out var list))
                {
                    to.AddRange(list.Mailboxes.Select(m => m.Address));
                }
            }

            return new OutboxItem(entry, headers[HeaderId.Subject], to);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return new OutboxItem(entry, null, null); // Moved meanwhile, or no header block worth showing.
        }
    }

    /// <summary>Null when the message could be sent as far as its form goes; else why not, in one line.</summary>
    private static async Task<string?> WhyNotAMessageAsync(Stream message, CancellationToken cancellationToken)
    {
        message.Position = 0;
        try
        {
            using var parsed = await MimeMessage.LoadAsync(message, cancellationToken).ConfigureAwait(false);
            if (parsed.From.Mailboxes.Count() != 1 || !parsed.To.Mailboxes.Concat(parsed.Cc.Mailboxes).Concat(parsed.Bcc.Mailboxes).Any())
            {
                return "the message needs one From address and at least one recipient (To, Cc or Bcc)";
            }

            // A misspelt choice header would only hold the message later: the ticket system hears of it now.
            return OutgoingChoice.TryFromHeaders(parsed, out _, out var invalid) ? null : invalid;
        }
        catch (FormatException e)
        {
            return $"the body is not a MIME message: {e.Message.TrimEnd('.')}";
        }
        finally
        {
            message.Position = 0;
        }
    }

    /// <summary>A name no file and no entry of the account has yet (two different messages in one second share only a 1-in-2^64 chance).</summary>
    private async Task<string> NewFileNameAsync(string account, string outbox, string hash, CancellationToken cancellationToken)
    {
        var stem = $"{_services.Time.GetUtcNow().UtcDateTime.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture)}-{hash[..16]}";
        for (var n = 1; ; n++)
        {
            var name = (n == 1 ? stem : string.Create(CultureInfo.InvariantCulture, $"{stem}-{n}")) + Extension;
            if (!File.Exists(Path.Combine(outbox, name))
                && (await _services.State.FindOutboxByFileAsync(account, name, cancellationToken).ConfigureAwait(false)).Count == 0)
            {
                return name;
            }
        }
    }

    /// <summary>
    /// Writes the message to a temporary file in the outbox (a name the send job does not read: not <c>*.eml</c>),
    /// on disk before it returns, readable by this user only (it may be a plaintext about to be encrypted).
    /// </summary>
    private static async Task<string> WriteTemporaryAsync(Stream message, string outbox, string fileName, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(outbox);
        var temp = Path.Combine(outbox, $".{IdOf(fileName)}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None, Options = FileOptions.Asynchronous };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        message.Position = 0;
        await using (var file = new FileStream(temp, options))
        {
            await message.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
        }

        message.Position = 0;
        return temp;
    }

    public void Dispose() => _gate.Dispose();
}
