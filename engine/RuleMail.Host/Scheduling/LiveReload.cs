using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RuleMail.Host.Configuration;
using RuleMail.Keys;
using RuleMail.Rules;

namespace RuleMail.Host.Scheduling;

/// <summary>
/// Keeps a running host on the key store and the rules their folders hold. A change in either folder — once it has been
/// quiet for <see cref="Debounce"/>, so a burst of writes such as one <c>rulemail keys import</c> gives one reload — and
/// SIGHUP reload both. Each fails closed on its own: rules that do not load whole, or a key store that does not read
/// whole with every private key opened, leave what was in force running, and the log says why in one line.
/// </summary>
/// <remarks>
/// One line is logged per reload that changed or refused something, and on SIGHUP always; a file event that changed
/// nothing logs nothing. Thread-safe: reloads run one at a time, whoever asks for them.
/// </remarks>
internal sealed class LiveReload : BackgroundService
{
    /// <summary>How long both folders must stay quiet after a change before it is reloaded.</summary>
    public static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(500);

    private const string FilesChanged = "files changed";

    private readonly KeyStore _store;
    private readonly RuleSetSource _rules;
    private readonly RuleMailConfig _config;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private readonly Channel<Request> _requests = Channel.CreateUnbounded<Request>(new UnboundedChannelOptions { SingleReader = true });
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly Lock _pendingLock = new();
    private readonly ITimer _debounce;
    private string _pendingReason = FilesChanged;
    private PosixSignalRegistration? _hangup;
    private bool _started;
    private volatile bool _stopped;

    // Read and written inside a reload only, so one at a time.
    private string? _rulesSeen;
    private string? _rulesRefusal;
    private string? _keysRefusal;

    public LiveReload(KeyStore store, RuleSetSource rules, RuleMailConfig config, ILogger<LiveReload> logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(time);
        _store = store;
        _rules = rules;
        _config = config;
        _logger = logger;
        _debounce = time.CreateTimer(_ => Due(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

        // The rules in force were loaded from these files a moment ago; an edit made in between shows on SIGHUP, which
        // always loads them again.
        _rulesSeen = RulesFingerprint(config.Rules);
    }

    /// <summary>Why the last reload refused the rules (the set in force stays), or null when it did not.</summary>
    public string? RulesRefusal => Volatile.Read(ref _rulesRefusal);

    /// <summary>Why the last reload refused the key store (the keys loaded stay), or null when it did not.</summary>
    public string? KeysRefusal => Volatile.Read(ref _keysRefusal);

    /// <summary>A file event was seen and the debounce timer (re)started: the reload follows <see cref="Debounce"/> later.</summary>
    public event Action? ChangeNoticed;

    /// <summary>The folders were quiet for <see cref="Debounce"/> after a change: a reload is on its way (raised on the timer's thread).</summary>
    public event Action? ReloadDue;

    /// <summary>A reload ended (whoever asked for it), with what it did.</summary>
    public event Action<ReloadReport>? Reloaded;

    /// <summary>
    /// Reloads the rules and the key store now (after a reload in progress), as SIGHUP does: the rules are read again
    /// even when their files look unchanged, and the line is logged even when nothing changed.
    /// </summary>
    public Task<ReloadReport> ReloadAsync(string reason, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return RunAsync(reason, quiet: false, cancellationToken);
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Watchers and the signal handler are in place when StartAsync returns, so nothing written after it is missed.
        List<string> watched;
        lock (_watchers)
        {
            watched = StartWatching();
            _started = true;
        }

        try
        {
            _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnHangup);
        }
        catch (PlatformNotSupportedException)
        {
            _logger.LogWarning("live reload: this platform has no SIGHUP; only file changes reload");
        }

        _logger.LogInformation(
            "live reload: watching {Watched}; SIGHUP reloads the rules and the key store", watched.Count == 0 ? "nothing" : string.Join(" and ", watched));
        return base.StartAsync(cancellationToken);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_watchers)
        {
            _stopped = true;
            foreach (var watcher in _watchers)
            {
                watcher.EnableRaisingEvents = false;
            }
        }

        _debounce.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

        // The SIGHUP handler stays until Dispose: a SIGHUP while running jobs finish must not kill the process.
        return base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _hangup?.Dispose();
        lock (_watchers)
        {
            _stopped = true;
            foreach (var watcher in _watchers)
            {
                watcher.Dispose();
            }

            _watchers.Clear();
        }

        _debounce.Dispose();
        _oneAtATime.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _requests.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                // Requests that came in during the last reload are served by one more, which reads everything anyway.
                var reasons = new List<string>();
                var quiet = true;
                while (_requests.Reader.TryRead(out var request))
                {
                    reasons.Add(request.Reason);
                    quiet &= request.Quiet;
                }

                _ = await RunAsync(string.Join(", ", reasons.Distinct(StringComparer.Ordinal)), quiet, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task<ReloadReport> RunAsync(string reason, bool quiet, CancellationToken cancellationToken)
    {
        await _oneAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        ReloadReport report;
        try
        {
            // Reading and parsing files and deriving keys from the passphrase block: off the caller's thread.
            report = await Task.Run(() => Reload(reason, quiet), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _oneAtATime.Release();
        }

        Reloaded?.Invoke(report);
        return report;
    }

    private ReloadReport Reload(string reason, bool quiet)
    {
        if (!quiet)
        {
            RenewWatchers();
        }

        var before = _rules.Current;
        var rules = ReloadRules(quiet);
        var keys = ReloadKeys();

        var parts = new List<string>();
        var refused = false;
        if (rules.News || !quiet)
        {
            parts.Add(rules.Outcome switch
            {
                ReloadOutcome.Reloaded => $"rules reloaded: {Counted(_rules.Current)} (was {before.RuleCount} in {before.FileCount})",
                ReloadOutcome.Refused => $"rules edit refused, keeping the last good rules: {rules.Error}",
                _ => $"rules unchanged: {Counted(_rules.Current)}",
            });
            refused |= rules.Outcome == ReloadOutcome.Refused;
        }

        if (keys.News || !quiet)
        {
            parts.Add(keys.Outcome switch
            {
                ReloadOutcome.Reloaded => $"key store reloaded: {keys.Change}",
                ReloadOutcome.Refused => $"key store reload refused, keeping the loaded keys: {keys.Error}",
                _ => $"key store unchanged: {_store.Entries.Count} entries",
            });
            refused |= keys.Outcome == ReloadOutcome.Refused;
        }

        string? line = null;
        if (parts.Count > 0)
        {
            var what = string.Join("; ", parts);
            line = $"{what} [{reason}]";
            _logger.Log(refused ? LogLevel.Warning : LogLevel.Information, "{Reload} [{Reason}]", what, reason);
        }

        return new ReloadReport(reason, rules.Outcome, rules.Error, keys.Outcome, keys.Change, keys.Error, line);
    }

    /// <summary>
    /// Loads the rules folder whole and puts it in force, or keeps the set in force. A file event whose files hold what
    /// was loaded (or refused) last time changes nothing and says nothing; a forced reload always loads.
    /// </summary>
    private Part ReloadRules(bool quiet)
    {
        var seen = RulesFingerprint(_config.Rules);
        var same = seen is not null && seen == _rulesSeen;
        if (quiet && same)
        {
            return new Part(_rulesRefusal is null ? ReloadOutcome.Unchanged : ReloadOutcome.Refused, _rulesRefusal, News: false);
        }

        var wasInForce = same && _rulesRefusal is null;
        _rulesSeen = seen;
        try
        {
            _rules.Replace(_config.LoadHostRules());
            _rulesRefusal = null;
            return new Part(wasInForce ? ReloadOutcome.Unchanged : ReloadOutcome.Reloaded, null, News: !wasInForce);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Anything else is a bug or an I/O surprise: the set in force stays, the host keeps running and says so.
            _rulesRefusal = OneLine(e is RuleMailException ? e.Message : $"{_config.Rules}: {e.Message}");
            return new Part(ReloadOutcome.Refused, _rulesRefusal, News: true);
        }
    }

    /// <summary>Reads the key store again with every private key opened, or keeps what is loaded.</summary>
    private Part ReloadKeys()
    {
        try
        {
            var change = _store.ReloadAndUnlockAll();
            var recovered = _keysRefusal is not null;
            _keysRefusal = null;

            // After a refusal the line says the store reads again, even when it holds what was kept.
            return change.IsEmpty && !recovered
                ? new Part(ReloadOutcome.Unchanged, null, News: false, change)
                : new Part(ReloadOutcome.Reloaded, null, News: true, change);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var error = OneLine(e is KeyStoreException ? e.Message : $"{_store.Directory}: {e.Message}");
            var news = error != _keysRefusal;
            _keysRefusal = error;
            return new Part(ReloadOutcome.Refused, error, news);
        }
    }

    /// <summary>Watches both folders; what is watched, for the log. Called with <see cref="_watchers"/> locked.</summary>
    private List<string> StartWatching()
    {
        var watched = new List<string>();
        if (Watch(_store.Directory, recursive: true, IsKeyStoreFile))
        {
            watched.Add($"the key store {_store.Directory}");
        }

        // Every name counts in the rules folder: a deployment may swap a symlinked folder inside it (a Kubernetes
        // ConfigMap's ..data), and editors' files only cost a reload whose fingerprint says nothing changed.
        if (Watch(_config.Rules, recursive: false, _ => true))
        {
            watched.Add($"the rules {_config.Rules}");
        }

        return watched;
    }

    /// <summary>
    /// Watches the folders afresh before a forced reload: a folder replaced as a whole (a symlink swapped to a new
    /// release) would otherwise stay unwatched, as a watcher follows the folder it was given, not the path.
    /// </summary>
    private void RenewWatchers()
    {
        lock (_watchers)
        {
            if (_stopped || !_started)
            {
                return;
            }

            foreach (var watcher in _watchers)
            {
                watcher.Dispose();
            }

            _watchers.Clear();
            _ = StartWatching();
        }
    }

    /// <summary>Starts watching <paramref name="folder"/>; false (and a warning) when it cannot be watched.</summary>
    private bool Watch(string folder, bool recursive, Func<string?, bool> relevant)
    {
        FileSystemWatcher? watcher = null;
        try
        {
            watcher = new FileSystemWatcher(folder)
            {
                IncludeSubdirectories = recursive,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size
                               | NotifyFilters.Attributes | NotifyFilters.CreationTime,
            };
            void OnChange(object sender, FileSystemEventArgs e)
            {
                if (relevant(e.Name))
                {
                    Notice(null);
                }
            }

            watcher.Changed += OnChange;
            watcher.Created += OnChange;
            watcher.Deleted += OnChange;
            watcher.Renamed += (_, e) =>
            {
                if (relevant(e.Name) || relevant(e.OldName))
                {
                    Notice(null);
                }
            };
            var watching = watcher;
            watcher.Error += (_, e) => OnWatcherError(watching, folder, e.GetException());
            watcher.EnableRaisingEvents = true;
            _watchers.Add(watcher);
            return true;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            watcher?.Dispose();
            _logger.LogWarning("live reload: cannot watch {Folder} ({Error}); changes there take effect on SIGHUP", folder, OneLine(e.Message));
            return false;
        }
    }

    /// <summary>Events may have been lost (an overflow): reload everything, and watch again if the watcher stopped.</summary>
    private void OnWatcherError(FileSystemWatcher watcher, string folder, Exception error)
    {
        _logger.LogWarning("live reload: watching {Folder} failed ({Error}); reloading the rules and the key store", folder, OneLine(error.Message));
        Notice("watcher error");

        // No lock here: this runs on the watcher's own thread, which disposing it under the lock may wait for.
        try
        {
            if (!_stopped && !watcher.EnableRaisingEvents)
            {
                watcher.EnableRaisingEvents = true;
            }
        }
        catch (ObjectDisposedException)
        {
            // Renewed or stopped meanwhile.
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            _logger.LogWarning("live reload: cannot watch {Folder} again ({Error}); changes there take effect on SIGHUP", folder, OneLine(e.Message));
        }
    }

    /// <summary>(Re)starts the debounce: the reload runs once the folders have been quiet for <see cref="Debounce"/>.</summary>
    private void Notice(string? reason)
    {
        lock (_pendingLock)
        {
            // A watcher's last events may come in while the service stops, after the timer is gone.
            if (_stopped)
            {
                return;
            }

            if (reason is not null)
            {
                _pendingReason = reason;
            }

            try
            {
                _debounce.Change(Debounce, Timeout.InfiniteTimeSpan);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
        }

        ChangeNoticed?.Invoke();
    }

    private void Due()
    {
        string reason;
        lock (_pendingLock)
        {
            reason = _pendingReason;
            _pendingReason = FilesChanged;
        }

        _requests.Writer.TryWrite(new Request(reason, Quiet: true));
        ReloadDue?.Invoke();
    }

    private void OnHangup(PosixSignalContext context)
    {
        // Handled: the default action of SIGHUP would end the process.
        context.Cancel = true;
        _requests.Writer.TryWrite(new Request("SIGHUP", Quiet: false));
    }

    /// <summary>What the rules folder holds, as <see cref="RuleSet.Load"/> reads it; null when it cannot be read (the load then says why).</summary>
    private static string? RulesFingerprint(string folder)
    {
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var file in Directory.EnumerateFiles(folder).Where(IsRuleFile).Order(StringComparer.Ordinal))
            {
                var content = File.ReadAllBytes(file);
                hash.AppendData(Encoding.UTF8.GetBytes($"{Path.GetFileName(file)}\0{content.Length}\0"));
                hash.AppendData(content);
            }

            return Convert.ToHexString(hash.GetHashAndReset());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsRuleFile(string name) =>
        name.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase)
        || name.EndsWith(".yml", StringComparison.OrdinalIgnoreCase)
        || name.EndsWith(".js", StringComparison.OrdinalIgnoreCase);

    /// <summary>Everything but the key store's own temporary files, which are renamed into place (that rename is seen).</summary>
    private static bool IsKeyStoreFile(string? name)
    {
        var file = Path.GetFileName(name);
        return file is null || !(file.StartsWith('.') && file.EndsWith(".tmp", StringComparison.Ordinal));
    }

    private static string Counted(RuleSet rules) => $"{rules.RuleCount} rules in {rules.FileCount} files";

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();

    private readonly record struct Request(string Reason, bool Quiet);

    private readonly record struct Part(ReloadOutcome Outcome, string? Error, bool News, KeyStoreChange? Change = null);
}
