using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http;
using Prometheus;
using RuleMail.Host.Processing;

namespace RuleMail.Web.Api;

/// <summary>
/// This process's Prometheus registry (prometheus-net): the .NET meters of this service's own container — RuleMail's
/// (<see cref="RuleMailMetrics"/>) and ASP.NET Core's — through prometheus-net's <see cref="MeterAdapter"/>, and the
/// process's CPU, memory and GC figures (<see cref="DotNetStats"/>). Written as Prometheus text (or OpenMetrics when
/// asked for) by prometheus-net's own middleware.
/// </summary>
/// <remarks>
/// A registry of its own, not prometheus-net's static default: two hosts in one process (tests) would otherwise count
/// each other's messages, and the default would also pick up every meter of the process. The adapter turns .NET
/// counters into Prometheus gauges (its choice: a re-created meter could count down) named
/// <c>{meter}_{instrument}</c> in lower case, so <c>RuleMail</c>'s <c>messages_total</c> is <c>rulemail_messages_total</c>,
/// and each tag becomes a label. It drops a series whose value has not been recorded for a while: counters and
/// histograms are kept a day, the longest it allows (not its 5 minutes: a quiet series would vanish between two
/// messages; one quiet for a whole day comes back from 0, which <c>rate()</c> reads as a restart); observable gauges,
/// set at every scrape, a minute — so a removed key's expiry is gone within two minutes.
/// </remarks>
internal sealed class MetricsExport : IDisposable
{
    private static readonly TimeSpan RecordedKeptFor = TimeSpan.FromDays(1); // The longest prometheus-net allows.
    private static readonly TimeSpan ObservedKeptFor = TimeSpan.FromMinutes(1);

    private readonly IDisposable _recorded;
    private readonly IDisposable _observed;
    private readonly MetricServerMiddleware _writer;

    public MetricsExport(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        Registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry);

        // Meters this container's factory made (RuleMail, ASP.NET Core, Kestrel): not another host's in the same process.
        bool Ours(Instrument instrument) => ReferenceEquals(instrument.Meter.Scope, meters);
        _recorded = MeterAdapter.StartListening(Adapter(i => Ours(i) && !i.IsObservable, RecordedKeptFor));
        _observed = MeterAdapter.StartListening(Adapter(i => Ours(i) && i.IsObservable, ObservedKeptFor));
        _writer = new MetricServerMiddleware(_ => Task.CompletedTask, new MetricServerMiddleware.Settings { Registry = Registry });
    }

    public CollectorRegistry Registry { get; }

    /// <summary>Writes the registry's metrics as the answer, in the format the request accepts.</summary>
    public Task WriteAsync(HttpContext context) => _writer.Invoke(context);

    public void Dispose()
    {
        _recorded.Dispose();
        _observed.Dispose();
    }

    private MeterAdapterOptions Adapter(Func<Instrument, bool> filter, TimeSpan keptFor) => new()
    {
        Registry = Registry,

        // Without this the adapter writes to prometheus-net's default registry, whatever Registry says.
        MetricFactory = Metrics.WithCustomRegistry(Registry),
        InstrumentFilterPredicate = filter,
        MetricsExpireAfter = keptFor,

        // The buckets the instrument advises (RuleMail's run durations, ASP.NET Core's request durations).
        ResolveHistogramBuckets = instrument => instrument is Histogram<double> { Advice.HistogramBucketBoundaries: { } buckets }
            ? [.. buckets]
            : MeterAdapterOptions.DefaultHistogramBuckets,
    };
}
