using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using RuleMail.Crypto;
using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Keys;

namespace RuleMail.Host.Processing;

/// <summary>
/// The host's instruments on one <see cref="System.Diagnostics.Metrics.Meter"/> named <see cref="MeterName"/>: messages
/// fetched by account, security status and ledger state; actions by kind and outcome; fetch and send run durations;
/// held and failed outbox entries; days until each key expires. An exporter (the HTTP API's <c>/metrics</c>) listens to
/// <see cref="Meter"/>; without a listener every call is a no-op.
/// </summary>
/// <remarks>
/// Labels carry account names, key fingerprints and the store's own key addresses only — never a message's subject,
/// sender or content — so the number of series stays bounded by the configuration and the key store. Thread-safe.
/// </remarks>
public sealed class RuleMailMetrics : IDisposable
{
    /// <summary>The meter's name; Prometheus names become <c>rulemail_...</c>.</summary>
    public const string MeterName = "RuleMail";

    /// <summary>How old the outbox counts may be before a scrape reads them again (one query per scrape at most).</summary>
    public static readonly TimeSpan OutboxCountsMaxAge = TimeSpan.FromSeconds(10);

    /// <summary>From 10 ms (a Maildir with nothing new) to 10 minutes (a mailbox backlog).</summary>
    private static readonly double[] RunBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    private readonly Counter<long> _messages;
    private readonly Counter<long> _actions;
    private readonly Histogram<double> _fetchDuration;
    private readonly Histogram<double> _sendDuration;
    private readonly KeyStore _store;
    private readonly IStateStore _state;
    private readonly RuleMailConfig _config;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private readonly bool _ownsMeter;
    private volatile OutboxSnapshot? _outbox;

    /// <param name="meters">Creates the meter (scoped to the container, so two hosts in one process stay apart); a meter of its own when null.</param>
    public RuleMailMetrics(IMeterFactory? meters, KeyStore store, IStateStore state, RuleMailConfig config, TimeProvider time, ILogger<RuleMailMetrics> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _state = state;
        _config = config;
        _time = time;
        _logger = logger;
        _ownsMeter = meters is null;
        Meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _messages = Meter.CreateCounter<long>("messages_total", "{message}",
            "Messages a fetch run finished with, by security status (worst first: decrypt_failed, signature_failed, encrypted, signed, plain) and the ledger state it left them in");
        _actions = Meter.CreateCounter<long>("actions_total", "{action}",
            "Side effects carried out, by kind and outcome (done, skipped, failed, retry)");
        var runs = new InstrumentAdvice<double> { HistogramBucketBoundaries = RunBuckets };
        _fetchDuration = Meter.CreateHistogram("fetch_duration_seconds", "s", "How long one fetch run of an account took, by outcome (ok, error)", tags: null, advice: runs);
        _sendDuration = Meter.CreateHistogram("send_duration_seconds", "s", "How long one send run of an account took, by outcome (ok, error)", tags: null, advice: runs);
        Meter.CreateObservableGauge("outbox_messages", ObserveOutbox, "{message}",
            "Outbox messages held or failed, by account (read from the state at most every 10 s)");
        Meter.CreateObservableGauge("key_expiry_days", ObserveKeyExpiry, "d",
            "Days until each key store certificate or OpenPGP key expires (negative once expired); keys that never expire are absent");
    }

    /// <summary>The meter every instrument is on.</summary>
    public Meter Meter { get; }

    /// <summary>The security status a message counts under: the seed's icons, a failure before a success.</summary>
    public static string StatusOf(SecurityResult? security) => security switch
    {
        null => "not_analysed",
        { Encryption.Success: false } => "decrypt_failed",
        { Sign.Success: false } => "signature_failed",
        { Encryption.Success: true } => "encrypted",
        { Sign.Success: true } => "signed",
        _ => "plain",
    };

    /// <summary>Records one fetch run: its duration and every message it finished with.</summary>
    internal void Fetched(FetchReport report, TimeSpan elapsed)
    {
        var account = new KeyValuePair<string, object?>("account", report.Account);
        _fetchDuration.Record(elapsed.TotalSeconds, account, Outcome(report.Error));
        foreach (var message in report.Messages)
        {
            _messages.Add(1, account, new("status", StatusOf(message.Security)), new("state", Lower(message.State)));
        }
    }

    /// <summary>Records one send run's duration.</summary>
    internal void Sent(SendReport report, TimeSpan elapsed) =>
        _sendDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("account", report.Account), Outcome(report.Error));

    /// <summary>Records one step of a plan: <paramref name="outcome"/> is done, skipped, failed or retry.</summary>
    internal void Action(string account, SideEffectKind kind, string outcome) =>
        _actions.Add(1, new("account", account), new("kind", Lower(kind)), new("outcome", outcome));

    /// <summary>The outcome label of a recorded side-effect state.</summary>
    internal static string OutcomeOf(SideEffectState state) => state switch
    {
        SideEffectState.Pending => "retry",
        _ => Lower(state),
    };

    /// <summary>
    /// Reads the outbox counts from the state when the last read is older than <paramref name="maxAge"/>, so the gauges'
    /// callbacks (which must not block) report them. A failed read drops the counts and says why in the log.
    /// </summary>
    public async Task RefreshOutboxAsync(TimeSpan maxAge, CancellationToken cancellationToken)
    {
        if (IsFresh(maxAge))
        {
            return;
        }

        await _refreshing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (IsFresh(maxAge))
            {
                return; // Another scrape read them meanwhile.
            }

            var counts = await _state.CountOutboxAsync(cancellationToken).ConfigureAwait(false);
            _outbox = new OutboxSnapshot(counts, _time.GetTimestamp());
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _outbox = null;
            _logger.LogWarning("metrics: cannot read the outbox counts from the state: {Error}", e.Message);
        }
        finally
        {
            _refreshing.Release();
        }
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            Meter.Dispose();
        }

        _refreshing.Dispose();
    }

    private bool IsFresh(TimeSpan maxAge) => _outbox is { } snapshot && _time.GetElapsedTime(snapshot.ReadAt) < maxAge;

    private IEnumerable<Measurement<int>> ObserveOutbox()
    {
        if (_outbox is not { } snapshot)
        {
            yield break;
        }

        // Every sending account has both series, at 0 when nothing waits, so an alert sees a value rather than nothing.
        var accounts = _config.Accounts.Where(a => a.Send?.Outbox is not null).Select(a => a.Name)
            .Concat(snapshot.Counts.Select(c => c.Account)).Distinct(StringComparer.Ordinal);
        foreach (var account in accounts)
        {
            foreach (var state in new[] { OutboxState.Held, OutboxState.Failed })
            {
                var count = snapshot.Counts.FirstOrDefault(c => c.Account == account && c.State == state)?.Count ?? 0;
                yield return new Measurement<int>(count, new("account", account), new("state", Lower(state)));
            }
        }
    }

    private IEnumerable<Measurement<double>> ObserveKeyExpiry()
    {
        // The store's snapshot in force now: a reload or an import shows at the next scrape.
        var now = _time.GetUtcNow();
        foreach (var entry in _store.Entries)
        {
            if (entry.Kind is KeyKind.Crl || entry.NotAfter is not { } notAfter)
            {
                continue;
            }

            yield return new Measurement<double>(
                Math.Round((notAfter - now).TotalDays, 3),
                new("fingerprint", entry.Fingerprint),
                new("kind", Lower(entry.Kind)),
                new("address", string.Join(",", entry.Addresses)));
        }
    }

    private static KeyValuePair<string, object?> Outcome(string? error) => new("outcome", error is null ? "ok" : "error");

    private static string Lower<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();

    private sealed record OutboxSnapshot(IReadOnlyList<OutboxCount> Counts, long ReadAt);
}
