using System.Collections.Concurrent;

namespace RuleMail.Host.Scheduling;

/// <summary>
/// Per job (<c>fetch:support</c>), whether its last run reached its server. A failing job waits with growing
/// backoff before its next real attempt, and its failure is logged once, not on every scheduled run. The last run of
/// each job is kept for readiness (<see cref="HostReadiness"/>).
/// </summary>
internal sealed class JobHealth
{
    private readonly ConcurrentDictionary<string, Outage> _outages = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, JobRun> _lastRuns = new(StringComparer.Ordinal);

    /// <summary>True when the job may run now (healthy, or its backoff has passed).</summary>
    public bool MayRun(string job, DateTimeOffset now) =>
        !_outages.TryGetValue(job, out var outage) || outage.NextAttempt <= now;

    /// <summary>Records a failed run; true when this is news worth logging (a new outage or a different error).</summary>
    public bool Failed(string job, string error, DateTimeOffset now, Processing.RetryPolicy retry)
    {
        ArgumentNullException.ThrowIfNull(retry);
        var isNews = true;
        var outage = _outages.AddOrUpdate(job,
            _ => new Outage(error, 1, now + retry.Delay(1), now),
            (_, old) =>
            {
                isNews = old.Error != error;
                return new Outage(error, old.Failures + 1, now + retry.Delay(old.Failures + 1), old.Since);
            });
        _lastRuns[job] = new JobRun(now, error, outage.NextAttempt);
        return isNews;
    }

    /// <summary>Records a good run; returns when the outage it ends began, or null when there was none.</summary>
    public DateTimeOffset? Succeeded(string job, DateTimeOffset now)
    {
        _lastRuns[job] = new JobRun(now, null, null);
        return _outages.TryRemove(job, out var outage) ? outage.Since : null;
    }

    /// <summary>The job's last run that reached an end (not one skipped for its backoff), or null before the first.</summary>
    public JobRun? LastRun(string job) => _lastRuns.TryGetValue(job, out var run) ? run : null;

    private sealed record Outage(string Error, int Failures, DateTimeOffset NextAttempt, DateTimeOffset Since);
}

/// <summary>How a job's last run ended: when, its error (null when it ran through), and when it is tried again after an error.</summary>
internal sealed record JobRun(DateTimeOffset At, string? Error, DateTimeOffset? NextAttempt);
