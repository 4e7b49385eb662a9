using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RuleMail.Cli.Output;
using Microsoft.Extensions.Hosting;
using RuleMail.Host.Scheduling;
using RuleMail.Host.Processing;
using RuleMail.Host.State;
using RuleMail.Web;

namespace RuleMail.Cli.Commands;

/// <summary>
/// <c>rulemail run [--once]</c>: the scheduled host. With <c>--once</c> every account is fetched and sent once,
/// each message is printed with the seed's icons, its reason and the rules' decision, and a table per account
/// ends the run. Without it, Quartz runs the accounts' schedules until SIGINT/SIGTERM and logs what happens.
/// </summary>
internal static class RunCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var once = new Option<bool>("--once") { Description = "Fetch and send each account once, print what happened, then exit" };
        var log = new Option<string>("--log") { Description = "Log format: console or json", DefaultValueFactory = _ => "console" };
        log.AcceptOnlyFromAmong("console", "json");
        var verbose = new Option<bool>("--verbose") { Description = "With --once, also log each step (logs go to stderr)" };
        var command = new Command("run", "Run the scheduled host: fetch, decrypt/verify, apply rules, act, send") { once, log, verbose };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var config = common.Resolve(parse, console);
            var options = CommonOptions.KeyStoreOptions(config, console);
            var json = parse.GetValue(log) == "json";
            var runOnce = parse.GetValue(once);
            var level = runOnce && !parse.GetValue(verbose) ? LogLevel.Warning : LogLevel.Information;
            var serveHttp = !runOnce && config.Http is not null;
            IHost host;
            if (serveHttp)
            {
                // One process, one composition root: the Quartz jobs and the HTTP API on the same services.
                host = RuleMailWebHost.Build(new RuleMailWebHostSettings
                {
                    Config = config,
                    KeyStoreOptions = options,
                    Environment = console.GetEnvironmentVariable,
                    Schedule = true,
                    Logging = b => Logging(b, json, LogLevel.Information),
                });
            }
            else
            {
                var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
                builder.Logging.ClearProviders();
                Logging(builder.Logging, json, runOnce ? level : LogLevel.Information);
                builder.Services.AddRuleMailHost(config, options, console.GetEnvironmentVariable);
                if (!runOnce)
                {
                    builder.AddRuleMailScheduling(config, console.GetEnvironmentVariable);
                }

                host = builder.Build();
            }

            await using var disposeHost = (IAsyncDisposable)host;

            // Opens everything in order and fails closed before anything runs: key store, keys, rules, state.
            var runtime = host.Services.GetRequiredService<HostRuntime>();
            var unlocked = runtime.PrivateKeys == 0 ? "none" : $"{runtime.PrivateKeys}, all unlocked";

            console.Output.WriteLine($"Configuration: {config.Path ?? "(built-in defaults)"}");
            console.Output.WriteLine($"Key store:     {runtime.Services.Store.Directory} ({runtime.Services.Store.Entries.Count} entries; private keys: {unlocked})");
            console.Output.WriteLine($"Rules:         {config.Rules} ({runtime.Services.Rules.RuleCount} rules in {runtime.Services.Rules.FileCount} files)");
            console.Output.WriteLine($"State:         {config.State}");
            console.Output.WriteLine($"Accounts:      {(config.Accounts.Count == 0 ? "none (add accounts to rulemail.yaml)" : string.Join(", ", config.Accounts.Select(a => a.Name)))}");
            if (serveHttp)
            {
                ServeCommand.WriteListening(console, config);
            }
            if (!runOnce)
            {
                console.Output.WriteLine("Running the schedules; stop with Ctrl+C (running jobs finish their current message).");
                await host.RunAsync(cancellationToken);
                return ExitCodes.Done;
            }

            return await OnceAsync(runtime, console, cancellationToken);
        });
        return command;
    }

    private static async Task<int> OnceAsync(HostRuntime runtime, CliConsole console, CancellationToken cancellationToken)
    {
        var summaries = new List<(string Account, FetchReport? Fetch, SendReport? Send)>();
        foreach (var runner in runtime.Accounts)
        {
            FetchReport? fetch = null;
            SendReport? send = null;
            if (runner.Fetches)
            {
                console.Output.WriteLine();
                console.Output.WriteLine($"{runner.Account.Name}: fetching");
                var progress = new Inline<ProcessedMessage>(m => WriteMessage(console.Output, m));
                fetch = await runner.FetchAsync(progress, cancellationToken);
                if (runtime.Services.Coordination is { } cluster && fetch.Error is null)
                {
                    // A node of a cluster: the listing queued the messages; work through this account's queue here.
                    await runner.DrainAsync(cluster, fetch, progress, cancellationToken);
                }

                if (fetch.Error is { } error)
                {
                    console.Output.WriteLine($"  {SecurityText.Warning} {error} (nothing was lost; the next run tries again)");
                }
                else if (fetch.Messages.Count == 0)
                {
                    console.Output.WriteLine($"  nothing new{Waiting(fetch.Waiting)}");
                }
            }

            if (runner.Sends)
            {
                console.Output.WriteLine();
                console.Output.WriteLine($"{runner.Account.Name}: sending the outbox");
                var progress = new Inline<SentMessage>(m => WriteSent(console.Output, m));
                send = await runner.SendAsync(progress, cancellationToken);
                if (runtime.Services.Coordination is { } cluster && send.Error is null)
                {
                    // A node of a cluster: the send tick queued the outbox's files; send this account's queue here.
                    await runner.DrainAsync(cluster, send, progress, cancellationToken);
                }

                if (send.Error is { } error)
                {
                    console.Output.WriteLine($"  {SecurityText.Warning} {error} (the outbox keeps its messages; the next run tries again)");
                }
                else if (send.Messages.Count == 0)
                {
                    console.Output.WriteLine($"  nothing to send{Waiting(send.Waiting)}");
                }
            }

            summaries.Add((runner.Account.Name, fetch, send));
        }

        console.Output.WriteLine();
        WriteTable(console, summaries);
        var incomplete = summaries.Any(s => s.Fetch?.Error is not null || s.Send?.Error is not null
            || s.Fetch?.Count(MessageState.Failed) > 0 || s.Fetch?.Messages.Sum(m => m.FailedSteps) > 0 || s.Send?.Count(OutboxState.Failed) > 0);
        return incomplete ? ExitCodes.Incomplete : ExitCodes.Done;
    }

    private static string Waiting(int count) => count == 0 ? string.Empty : $" ({count} waiting for their next attempt)";

    private static void WriteMessage(TextWriter output, ProcessedMessage message)
    {
        output.WriteLine($"  {SecurityText.Icons(message.Security)}  {message.Subject ?? "(no subject)"}  <{message.From}>  [{message.SourceKey}]");
        foreach (var line in SecurityText.Reasons(message.Security))
        {
            output.WriteLine($"      {line}");
        }

        output.WriteLine($"      decision: {message.DecisionText}");
        if (message.Actions.Count > 0)
        {
            output.WriteLine($"      done: {string.Join("; ", message.Actions)}");
        }

        if (message.Error is { } error)
        {
            output.WriteLine(message.State == MessageState.Failed
                ? $"      {SecurityText.Warning} failed for good, left in the mailbox: {error}"
                : $"      {SecurityText.Warning} {error}; tried again after {message.NextAttempt:u}");
        }
    }

    private static void WriteSent(TextWriter output, SentMessage message)
    {
        var mark = message.State switch
        {
            OutboxState.Sent => "📤",
            OutboxState.Held => "✋",
            _ => SecurityText.Warning,
        };
        output.WriteLine($"  {mark}  {message.Subject ?? "(no subject)"}  to {message.To}  [{message.FileName}]");
        var what = message.State switch
        {
            OutboxState.Sent => $"sent: {message.Reason}",
            OutboxState.Held => $"held (in outbox/held): {message.Reason}",
            OutboxState.Queued => $"not sent: {message.Reason}; tried again after {message.NextAttempt:u}",
            _ => $"failed for good (in outbox/failed): {message.Reason}",
        };
        output.WriteLine($"      {what}");
    }

    private static void WriteTable(CliConsole console, List<(string Account, FetchReport? Fetch, SendReport? Send)> summaries)
    {
        if (summaries.Count == 0)
        {
            console.Output.WriteLine("No accounts: nothing to fetch or send. Add accounts to rulemail.yaml (see README, Configuration).");
            return;
        }

        var table = Tables.Create("Account", "New", "🔒", $"{SecurityText.Warning}🔒", "✅", $"{SecurityText.Warning}✅", "Plain", "Retry", "Failed", "Sent", "Held", "Server");
        foreach (var (account, fetch, send) in summaries)
        {
            var messages = fetch?.Messages.Where(m => m.Security is not null).Select(m => m.Security!).ToList() ?? [];
            var retry = (fetch?.Count(MessageState.Retry) ?? 0) + (fetch?.Waiting ?? 0) + (send?.Count(OutboxState.Queued) ?? 0) + (send?.Waiting ?? 0);
            // A message done with a step that failed for good (a webhook answering 4xx) counts as failed: not all was done.
            var failed = (fetch?.Messages.Count(m => m.State == MessageState.Failed || m.FailedSteps > 0) ?? 0) + (send?.Count(OutboxState.Failed) ?? 0);
            var server = string.Join("; ", new[] { fetch?.Error, send?.Error }.Where(e => e is not null));
            Tables.AddRow(table, account,
                Number(fetch?.Messages.Count(m => m.IsNew)),
                Number(messages.Count(s => s.Encryption?.Success == true)),
                Number(messages.Count(s => s.Encryption?.Success == false)),
                Number(messages.Count(s => s.Sign?.Success == true)),
                Number(messages.Count(s => s.Sign?.Success == false)),
                Number(messages.Count(s => s.Encryption is null && s.Sign is null)),
                Number(retry), Number(failed),
                Number(send?.Count(OutboxState.Sent)), Number(send?.Count(OutboxState.Held)),
                server.Length == 0 ? "ok" : $"{SecurityText.Warning} unreachable");
        }

        Tables.ConsoleFor(console.Output).Write(table);
    }

    private static string Number(int? value) => value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-";

    /// <summary>The log providers of a host command: single-line console (or JSON) on stderr, Quartz and Microsoft quiet below warnings.</summary>
    internal static void Logging(ILoggingBuilder builder, bool json, LogLevel level)
    {
        builder.SetMinimumLevel(level);
        builder.AddFilter("Quartz", LogLevel.Warning);
        builder.AddFilter("Microsoft", LogLevel.Warning);
        if (json)
        {
            builder.AddJsonConsole(o => o.UseUtcTimestamp = true);
        }
        else
        {
            builder.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ssZ ";
            });
        }

        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    }

    /// <summary>Reports synchronously, in order (Progress&lt;T&gt; would post to the thread pool and interleave output).</summary>
    private sealed class Inline<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
