using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quartz;
using RuleMail.Host.Configuration;

namespace RuleMail.Host.Scheduling;

/// <summary>
/// The long-running service: a generic host with Quartz (in-memory store) running each account's fetch and send
/// jobs on their schedules until SIGINT/SIGTERM, then waiting for running jobs to finish their current message;
/// <see cref="LiveReload"/> reloads the key store and the rules meanwhile.
/// </summary>
public static class ScheduledHost
{
    public static async Task RunAsync(HostRuntime runtime, Action<ILoggingBuilder> logging, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
        });
        builder.Logging.ClearProviders();
        logging(builder.Logging);
        builder.Services.AddSingleton(runtime);
        builder.Services.AddSingleton(services => new LiveReload(
            runtime.Services.Store, runtime.Services.RuleSource, runtime.Services.Config, services.GetRequiredService<ILogger<LiveReload>>(), runtime.Services.Time));
        builder.Services.AddHostedService(services => services.GetRequiredService<LiveReload>());
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(60));
        builder.Services.AddQuartz("RuleMail", quartz =>
        {
            // On shutdown the jobs' tokens are cancelled; the pipeline finishes the message it is on and stops.
            quartz.ConfigureScheduler(scheduler => scheduler.ShutdownJobInterruption = ShutdownJobInterruption.Always);
            quartz.UseInMemoryStore();
            foreach (var runner in runtime.Accounts)
            {
                var account = runner.Account;
                if (runner.Fetches)
                {
                    Schedule<FetchJob>(quartz, $"fetch:{account.Name}", account.Name, ScheduleOf(account.Fetch!.Every, account.Fetch.Cron));
                }

                if (runner.Sends)
                {
                    Schedule<SendJob>(quartz, $"send:{account.Name}", account.Name, ScheduleOf(account.Send!.Every, account.Send.Cron));
                }
            }
        });
        builder.Services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);

        using var host = builder.Build();
        await host.RunAsync(cancellationToken).ConfigureAwait(false);
    }

    private static Schedule ScheduleOf(string? every, string? cron) =>
        Configuration.Schedule.TryParse(every, cron, out var error) ?? throw new RuleMailException(error ?? "invalid schedule");

    private static void Schedule<TJob>(IQuartzBuilder quartz, string name, string account, Schedule schedule)
        where TJob : IJob
    {
        var key = new JobKey(name, "rulemail");
        quartz.AddJob<TJob>(job => job.WithIdentity(key).UsingJobData(AccountJob.AccountKey, account));
        quartz.AddTrigger(trigger =>
        {
            trigger.ForJob(key).WithIdentity($"{name}:trigger", "rulemail").StartNow();
            if (schedule.Cron is { } cron)
            {
                trigger.WithCronSchedule(cron, c => c.WithMisfireInstruction(CronTriggerMisfireInstruction.DoNothing));
            }
            else
            {
                trigger.WithSimpleSchedule(s => s.WithInterval(schedule.Interval!.Value).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount));
            }
        });
    }
}
