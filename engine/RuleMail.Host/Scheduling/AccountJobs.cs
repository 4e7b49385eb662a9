using Microsoft.Extensions.Logging;
using Quartz;
using RuleMail.Host.Processing;

namespace RuleMail.Host.Scheduling;

/// <summary>
/// The Quartz jobs: one fetch job and one send job per account (never one per message). Quartz never runs
/// two instances of one job at once; a job whose server is down waits out its backoff and logs the outage once.
/// </summary>
internal abstract class AccountJob(HostRuntime runtime, ILoggerFactory logging) : IJob
{
    public const string AccountKey = "account";

    protected HostRuntime Runtime { get; } = runtime;

    protected ILogger Logger { get; } = logging.CreateLogger("RuleMail.Host");

    protected abstract string Kind { get; }

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var name = context.MergedJobDataMap.GetString(AccountKey);
        var runner = Runtime.Accounts.FirstOrDefault(a => a.Account.Name == name)
            ?? throw new JobExecutionException($"no account named {name}");
        var job = $"{Kind}:{name}";
        var now = Runtime.Services.Time.GetUtcNow();
        if (!Runtime.Health.MayRun(job, now))
        {
            return;
        }

        string? error;
        try
        {
            error = await RunAsync(runner, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Logger.LogInformation("{Job}: stopped by shutdown; the rest continues on the next start", job);
            return;
        }
        catch (RuleMailException e)
        {
            error = e.Message;
        }

        if (error is null)
        {
            if (Runtime.Health.Succeeded(job, Runtime.Services.Time.GetUtcNow()) is { } since)
            {
                Logger.LogInformation("{Job}: working again after an outage since {Since:u}", job, since);
            }

            return;
        }

        if (Runtime.Health.Failed(job, error, Runtime.Services.Time.GetUtcNow(), Runtime.Services.Retry))
        {
            Logger.LogWarning("{Job}: {Error}; retrying with backoff (reported once until it changes)", job, error);
        }
    }

    /// <summary>Runs the job once; returns the run's error (server trouble), or null.</summary>
    protected abstract Task<string?> RunAsync(AccountRunner runner, CancellationToken cancellationToken);
}

/// <summary>Fetches and processes one account's new mail.</summary>
[DisallowConcurrentExecution]
internal sealed class FetchJob(HostRuntime runtime, ILoggerFactory logging) : AccountJob(runtime, logging)
{
    protected override string Kind => "fetch";

    protected override async Task<string?> RunAsync(AccountRunner runner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runner);
        var report = await runner.FetchAsync(null, cancellationToken).ConfigureAwait(false);
        return report.Error;
    }
}

/// <summary>Sends (or holds) what waits in one account's outbox.</summary>
[DisallowConcurrentExecution]
internal sealed class SendJob(HostRuntime runtime, ILoggerFactory logging) : AccountJob(runtime, logging)
{
    protected override string Kind => "send";

    protected override async Task<string?> RunAsync(AccountRunner runner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runner);
        var report = await runner.SendAsync(
            new Progress<SentMessage>(m => Logger.LogInformation("{Account}: outbox {File} to {To}: {State} {Reason}",
                runner.Account.Name, m.FileName, m.To, m.State.ToString().ToLowerInvariant(), m.Reason)),
            cancellationToken).ConfigureAwait(false);
        return report.Error;
    }
}
