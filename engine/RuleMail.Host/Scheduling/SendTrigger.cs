using Microsoft.Extensions.Logging;
using Quartz;

namespace RuleMail.Host.Scheduling;

/// <summary>
/// Starts an account's send job now rather than at its next tick, when something was put in its outbox (the HTTP API
/// enqueued or released a message). Only a process that runs the Quartz jobs (<c>rulemail run</c>) can: under
/// <c>rulemail serve</c> there is no scheduler, and the message waits for the next <c>rulemail run</c>.
/// Thread-safe.
/// </summary>
/// <remarks>
/// Quartz never runs two instances of a send job at once (<see cref="DisallowConcurrentExecutionAttribute"/>): triggered while it
/// runs, it runs again right after, so a file that arrived after the running job listed the outbox is not left for the
/// next tick.
/// </remarks>
public sealed class SendTrigger(ISchedulerFactory? schedulers, ILogger<SendTrigger> logger)
{
    /// <summary>The Quartz group of every RuleMail job.</summary>
    public const string Group = "rulemail";

    /// <summary>Whether this process runs the send jobs at all.</summary>
    public bool Schedules => schedulers is not null;

    /// <summary>The name of the account's send job (its <see cref="JobKey"/> in <see cref="Group"/>).</summary>
    public static string JobName(string account) => $"send:{account}";

    /// <summary>Starts the account's send job; false when this process runs no jobs or the account has none.</summary>
    public async Task<bool> TriggerAsync(string account, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        if (schedulers is null)
        {
            return false;
        }

        var key = new JobKey(JobName(account), Group);
        try
        {
            var scheduler = await schedulers.GetScheduler(cancellationToken).ConfigureAwait(false);
            var status = await scheduler.GetStatus(cancellationToken).ConfigureAwait(false);
            if (status is SchedulerStatus.ShuttingDown or SchedulerStatus.Shutdown || !await scheduler.Exists(key, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            await scheduler.TriggerJob(key, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (SchedulerException e)
        {
            // The message is in the outbox and recorded: the job's own schedule sends it; a failed nudge only delays it.
            logger.LogWarning("{Job}: could not be started now ({Error}); it runs on its schedule", key, e.Message);
            return false;
        }
    }
}
