using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quartz;
using RuleMail.Application;
using RuleMail.Host.Actions;
using RuleMail.Host.Configuration;
using RuleMail.Host.Processing;
using RuleMail.Host.State;
using RuleMail.Keys;

namespace RuleMail.Host.Scheduling;

/// <summary>
/// The host's part of the composition root. <see cref="AddRuleMailHost"/> registers everything a host process runs
/// on (Core's services, the state, the action handlers, the runtime); <see cref="AddRuleMailScheduling"/> adds the
/// Quartz jobs to the caller's generic host, so one process can also serve HTTP beside them.
/// </summary>
public static class RuleMailHostServices
{
    /// <summary>The Quartz scheduler's name (its services are keyed by it).</summary>
    internal const string SchedulerName = "RuleMail";

    /// <summary>
    /// Registers Core's services for <paramref name="config"/> with every private key unlocked at start, the state
    /// store, one handler per action kind and <see cref="HostRuntime"/>. Resolving <see cref="HostRuntime"/> opens
    /// everything in order and fails closed (see <see cref="HostRuntime"/>).
    /// </summary>
    /// <param name="environment">Reads environment variables (account passwords); tests pass their own.</param>
    public static IServiceCollection AddRuleMailHost(
        this IServiceCollection services, RuleMailConfig config, KeyStoreOptions keyStoreOptions, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(keyStoreOptions);
        services.AddRuleMailCore(config.CoreOptions(keyStoreOptions, KeyReadiness.Unlocked) with { LoadRules = config.LoadHostRules });
        services.AddSingleton(config);
        services.AddSingleton(new EnvironmentVariables(environment));
        services.AddSingleton<IStateStore>(_ => HostRuntime.OpenState(config, environment));
        if (config.State.IsPostgres)
        {
            // A node of a cluster: its identity, and the coordination (leases, the work queue) on the shared state.
            services.AddSingleton(_ => Cluster.ClusterNode.Start(environment));
            services.AddSingleton(sp => new Cluster.PostgresCluster(
                StateStores.WithSessionLimits(StateStores.ConnectionString(config, environment), config.Cluster.Lease), sp.GetRequiredService<Cluster.ClusterNode>(), config.Cluster.Lease));
        }

        services.AddSingleton(sp => new ApiTokens(sp.GetRequiredService<IStateStore>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IActionHandler, KeywordAction>();
        services.AddSingleton<IActionHandler, RemoveKeywordAction>();
        services.AddSingleton<IActionHandler, MoveAction>();
        services.AddSingleton<IActionHandler>(sp => new WebhookAction(WebhookClient(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<EnvironmentVariables>()));
        services.AddSingleton<IActionHandler, NotifyAction>();
        services.AddSingleton(sp => new HostServices(
            config,
            sp.GetRequiredService<IncomingAnalysis>(),
            sp.GetRequiredService<OutgoingProcessing>(),
            sp.GetRequiredService<RuleMail.Rules.RuleSetSource>(),
            sp.GetRequiredService<IStateStore>(),
            sp.GetServices<IActionHandler>(),
            sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<TimeProvider>(),
            environment,
            sp.GetRequiredService<RuleMailMetrics>()) { Node = sp.GetService<Cluster.ClusterNode>(), Coordination = sp.GetService<Cluster.PostgresCluster>() });
        services.AddSingleton(HostRuntime.Open);

        // The instruments on a meter of this container (IMeterFactory), and what /readyz reports.
        services.AddMetrics();
        services.AddSingleton(sp => new RuleMailMetrics(
            sp.GetService<IMeterFactory>(), sp.GetRequiredService<KeyStore>(), sp.GetRequiredService<IStateStore>(), config,
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<RuleMailMetrics>>()));
        services.AddSingleton(sp => new HostReadiness(
            sp.GetRequiredService<HostRuntime>(), sp.GetService<LiveReload>(), sp.GetService<ScheduledJobs>()));

        // The scheduler is there only when AddRuleMailScheduling added it (rulemail run), so it is looked up, not required;
        // a named Quartz scheduler's services are keyed by its name.
        services.AddSingleton(sp => new SendTrigger(sp.GetKeyedService<ISchedulerFactory>(SchedulerName), sp.GetRequiredService<ILogger<SendTrigger>>()));
        services.AddSingleton(sp => new Outboxes(sp.GetRequiredService<HostServices>(), sp.GetRequiredService<SendTrigger>()));
        return services;
    }

    /// <summary>
    /// Adds the scheduled jobs to <paramref name="builder"/>: Quartz (in-memory store) runs each account's fetch and send
    /// jobs on their schedules until the host stops, then waits for running jobs to finish their current message;
    /// <see cref="LiveReload"/> reloads the key store and the rules meanwhile.
    /// </summary>
    /// <remarks>
    /// With the state on PostgreSQL the process is a node of a cluster: Quartz keeps the schedule in the same database,
    /// clustered, so each tick fires on one node; the account's lease (not Quartz) decides who lists a mailbox or sends an
    /// outbox, and <see cref="Cluster.ClusterWorkers"/> work through the queued messages on every node.
    /// </remarks>
    public static IHostApplicationBuilder AddRuleMailScheduling(this IHostApplicationBuilder builder, RuleMailConfig config, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(config);
        environment ??= Environment.GetEnvironmentVariable;
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(60));
        builder.Services.AddSingleton(ScheduledJobs.Of(config));
        builder.Services.AddQuartz(SchedulerName, quartz =>
        {
            // On shutdown the jobs' tokens are cancelled; the pipeline finishes the message it is on and stops.
            quartz.ConfigureScheduler(scheduler => scheduler.ShutdownJobInterruption = ShutdownJobInterruption.Always);
            if (config.State.IsPostgres)
            {
                var lease = config.Cluster.Lease;
                var connection = StateStores.WithSessionLimits(StateStores.ConnectionString(config, environment), lease);
                quartz.UsePersistentStore(store =>
                {
                    // The tables are created by the state's migrations (under their lock), so the store only checks them.
                    store.UsePostgres(connection);
                    store.UseSystemTextJsonSerializer();
                    store.UseClustering(c =>
                    {
                        c.CheckinInterval = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(1).Ticks, lease.Ticks / 3));
                        c.CheckinMisfireThreshold = lease;
                    });
                });
            }
            else
            {
                quartz.UseInMemoryStore();
            }

            foreach (var account in config.Accounts)
            {
                if (account.Fetch is not null)
                {
                    Schedule<FetchJob>(quartz, $"fetch:{account.Name}", account.Name, ScheduleOf(account.Fetch.Every, account.Fetch.Cron));
                }

                if (account.Send?.Outbox is not null)
                {
                    Schedule<SendJob>(quartz, SendTrigger.JobName(account.Name), account.Name, ScheduleOf(account.Send.Every, account.Send.Cron));
                }
            }
        });
        builder.Services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        if (config.State.IsPostgres)
        {
            builder.Services.AddHostedService(sp => new Cluster.ClusterWorkers(
                sp.GetRequiredService<HostRuntime>(), sp.GetRequiredService<Cluster.PostgresCluster>(), config.Cluster,
                sp.GetRequiredService<ILogger<Cluster.ClusterWorkers>>()));
        }


        // The key store and the rules are reloaded when their files change and on SIGHUP.
        builder.Services.AddSingleton(sp => new LiveReload(
            sp.GetRequiredService<KeyStore>(), sp.GetRequiredService<RuleMail.Rules.RuleSetSource>(), config,
            sp.GetRequiredService<ILogger<LiveReload>>(), sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LiveReload>());
        return builder;
    }

    /// <summary>
    /// No redirects: a 301/302 would turn the webhook's POST into a GET without its body and still look like success.
    /// Each call has its own timeout (the rule's, or the default), so the client has none.
    /// </summary>
    private static HttpClient WebhookClient() =>
        new(new SocketsHttpHandler { AllowAutoRedirect = false, MaxConnectionsPerServer = 64 }) { Timeout = Timeout.InfiniteTimeSpan };

    private static Schedule ScheduleOf(string? every, string? cron) =>
        Configuration.Schedule.TryParse(every, cron, out var error) ?? throw new RuleMailException(error ?? "invalid schedule");

    private static void Schedule<TJob>(IQuartzBuilder quartz, string name, string account, Schedule schedule)
        where TJob : IJob
    {
        var key = new JobKey(name, SendTrigger.Group);
        quartz.AddJob<TJob>(job => job.WithIdentity(key).UsingJobData(AccountJob.AccountKey, account));
        quartz.AddTrigger(trigger =>
        {
            trigger.ForJob(key).WithIdentity($"{name}:trigger", SendTrigger.Group).StartNow();
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
