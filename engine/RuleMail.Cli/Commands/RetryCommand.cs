using System.CommandLine;
using RuleMail.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RuleMail.Cli.Output;
using RuleMail.Host.Processing;
using RuleMail.Host.Scheduling;
using RuleMail.Host.State;

namespace RuleMail.Cli.Commands;

/// <summary>
/// <c>rulemail retry [--account NAME] [--message KEY]... [--security-failed] [--json]</c>: judges processed messages
/// again with today's keys and rules and carries out what changed, once per analysis version (the work is
/// <see cref="RetryProcessing"/>'s). Opened like <c>run --once</c> — the same composition root, failing closed, under
/// the state's one-host lock — and with its exit codes: 0 done, 4 when something failed.
/// </summary>
internal static class RetryCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var account = new Option<string?>("--account") { Description = "Only this account (its name in the config)" };
        var messages = new Option<string[]>("--message")
        {
            Description = "Only the message with this key (as run prints it in brackets); repeat for more",
            Arity = ArgumentArity.OneOrMore,
        };
        var failed = new Option<bool>("--security-failed")
        {
            Description = "Only messages whose signature or decryption failed (the default without --message)",
        };
        var json = new Option<bool>("--json") { Description = "One JSON object on stdout" };
        var command = new Command("retry", "Judge processed messages again with today's keys and rules, and carry out the new decision once")
        {
            account, messages, failed, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var config = common.Resolve(parse, console);
            var runners = Accounts(config, parse.GetValue(account));
            var selection = new RetrySelection
            {
                SourceKeys = [.. (parse.GetValue(messages) ?? []).Distinct(StringComparer.Ordinal)],
                SecurityFailed = parse.GetValue(failed),
            };
            var asJson = parse.GetValue(json);
            var options = CommonOptions.KeyStoreOptions(config, console);
            var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Logging.ClearProviders();
            RunCommand.Logging(builder.Logging, json: false, LogLevel.Warning);
            builder.Services.AddRuleMailHost(config, options, console.GetEnvironmentVariable);
            var host = builder.Build();
            await using var disposeHost = (IAsyncDisposable)host;

            HostRuntime runtime;
            try
            {
                // Opens everything in order and fails closed, as run does: key store, keys, rules, then the state.
                runtime = host.Services.GetRequiredService<HostRuntime>();
            }
            catch (StateInUseException e)
            {
                console.Error.WriteLine($"rulemail: cannot retry while a host runs on this state (a retry acts on the mailbox and the ledger, which only one process may do at a time): {e.Message}");
                return ExitCodes.BadInput;
            }

            if (!asJson)
            {
                console.Output.WriteLine($"Key store:     {runtime.Services.Store.Directory} ({runtime.Services.Store.Entries.Count} entries)");
                console.Output.WriteLine($"Rules:         {config.Rules} ({runtime.Services.Rules.RuleCount} rules in {runtime.Services.Rules.FileCount} files)");
                console.Output.WriteLine($"State:         {config.State}");
                console.Output.WriteLine($"Selected:      {Describe(selection)}");
            }

            var reports = new List<RetryReport>();
            foreach (var runner in runtime.Accounts.Where(r => runners.Contains(r.Account.Name)))
            {
                if (!asJson)
                {
                    console.Output.WriteLine();
                    console.Output.WriteLine($"{runner.Account.Name}: judging again");
                }

                var report = await runner.RetryAsync(selection, asJson ? null : new Inline(m => WriteMessage(console.Output, m)), cancellationToken);
                if (!asJson)
                {
                    if (report.Error is { } error)
                    {
                        console.Output.WriteLine($"  {SecurityText.Warning} {error} (nothing was lost; retry again later)");
                    }
                    else if (report.Messages.Count == 0)
                    {
                        console.Output.WriteLine("  nothing selected");
                    }
                }

                reports.Add(report);
            }

            var found = reports.SelectMany(r => r.Messages).Select(m => m.SourceKey).ToHashSet(StringComparer.Ordinal);
            var missing = selection.SourceKeys.Where(key => !found.Contains(key)).ToList();
            if (asJson)
            {
                console.Output.WriteLine(ContractJson.Serialize(RetryDocuments.From(reports, missing)));
            }
            else
            {
                foreach (var key in missing)
                {
                    console.Output.WriteLine($"  {SecurityText.Warning} [{key}]: no processed message{(selection.SecurityFailed ? " whose security failed" : string.Empty)} has this key");
                }

                console.Output.WriteLine();
                WriteTable(console, reports);
            }

            var incomplete = missing.Count > 0 || reports.Any(r => r.Error is not null || r.Count(RetryOutcome.Failed) > 0);
            return incomplete ? ExitCodes.Incomplete : ExitCodes.Done;
        });
        return command;
    }

    /// <summary>The names of the accounts to judge: the one asked for, or every account that fetches.</summary>
    private static HashSet<string> Accounts(Host.Configuration.RuleMailConfig config, string? name)
    {
        var fetching = config.Accounts.Where(a => a.Fetch is not null).Select(a => a.Name).ToList();
        if (name is null)
        {
            return [.. fetching];
        }

        return fetching.Contains(name, StringComparer.Ordinal)
            ? [name]
            : throw new UsageException($"--account {name}: no account of that name fetches mail (accounts that do: {(fetching.Count == 0 ? "none" : string.Join(", ", fetching))})");
    }

    private static string Describe(RetrySelection selection)
    {
        if (selection.SourceKeys.Count == 0)
        {
            return "every processed message whose signature or decryption failed";
        }

        var keys = string.Join(", ", selection.SourceKeys);
        return selection.SecurityFailed ? $"{keys} (if their security failed)" : keys;
    }

    private static void WriteMessage(TextWriter output, RetriedMessage message)
    {
        var before = SecurityText.Icons(message.SecurityBefore);
        var icons = message.Outcome == RetryOutcome.Changed || (message.Outcome == RetryOutcome.Failed && message.PreviousVersion != message.Version)
            ? $"{before} → {SecurityText.Icons(message.SecurityAfter)}"
            : before;
        output.WriteLine($"  {icons}  {message.Subject ?? "(no subject)"}  <{message.From}>  [{message.SourceKey}]");
        switch (message.Outcome)
        {
            case RetryOutcome.Unchanged:
                output.WriteLine($"      unchanged (analysis {message.Version}): {string.Join(" ", SecurityText.Reasons(message.SecurityAfter))}");
                break;
            case RetryOutcome.Skipped:
                output.WriteLine($"      skipped: {message.Reason}");
                break;
            case RetryOutcome.Failed when message.PreviousVersion == message.Version:
                output.WriteLine($"      {SecurityText.Warning} not judged again: {message.Reason}");
                break;
            default:
                output.WriteLine($"      analysis {message.Version} (was {message.PreviousVersion}):");
                foreach (var line in SecurityText.Reasons(message.SecurityAfter))
                {
                    output.WriteLine($"        {line}");
                }

                output.WriteLine($"      decision: {HostJson.DescribeDecision(message.DecisionAfterJson)} (was: {HostJson.DescribeDecision(message.DecisionBeforeJson)})");
                output.WriteLine(message.Actions.Count > 0 ? $"      done: {string.Join("; ", message.Actions)}" : "      done: nothing to do");
                if (message.Location is { } location)
                {
                    output.WriteLine($"      now in {location.Folder}");
                }

                if (message.Reason is { } reason)
                {
                    output.WriteLine(message.State == MessageState.Retry
                        ? $"      {SecurityText.Warning} {reason}; the next fetch tries again after {message.NextAttempt:u}"
                        : $"      {SecurityText.Warning} {reason}");
                }

                break;
        }
    }

    private static void WriteTable(CliConsole console, List<RetryReport> reports)
    {
        if (reports.Count == 0)
        {
            console.Output.WriteLine("No accounts fetch mail: nothing to judge again.");
            return;
        }

        var table = Tables.Create("Account", "Judged", "Changed", "Unchanged", "Skipped", "Failed", "Server");
        foreach (var report in reports)
        {
            Tables.AddRow(table, report.Account,
                Number(report.Messages.Count - report.Count(RetryOutcome.Skipped)),
                Number(report.Count(RetryOutcome.Changed)),
                Number(report.Count(RetryOutcome.Unchanged)),
                Number(report.Count(RetryOutcome.Skipped)),
                Number(report.Count(RetryOutcome.Failed)),
                report.Error is null ? "ok" : $"{SecurityText.Warning} unreachable");
        }

        Tables.ConsoleFor(console.Output).Write(table);
    }

    private static string Number(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Reports synchronously, in order.</summary>
    private sealed class Inline(Action<RetriedMessage> report) : IProgress<RetriedMessage>
    {
        public void Report(RetriedMessage value) => report(value);
    }
}
