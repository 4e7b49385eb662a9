using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using RuleMail.Crypto;
using RuleMail.Host.Configuration;
using RuleMail.Host.Transport;
using RuleMail.Host.Processing;
using RuleMail.Host.Tests.Support;
using RuleMail.Rules;

namespace RuleMail.Benchmarks.Pipeline;

/// <summary>What a child process measured for one large message after a small warm-up message of the same kind.</summary>
internal sealed record RunMeasure(
    string Kind, double Seconds, long ResidentBefore, long PeakDuring, long Allocated, bool PeakReset, string Security, bool Expected);

/// <summary>One step of the pipeline done by hand on the large message: what it allocated, how far it raised the resident size, what stays live.</summary>
internal sealed record StepMeasure(string Step, double Seconds, long Allocated, long PeakAboveStart, long LiveAfter);

/// <summary>
/// The child process of the memory measure (<c>pipeline-child</c>), so the peak is that message's alone. Its INBOX
/// holds a small message of the kind (first, to load and compile every code path) and then the large one.
/// <c>run</c>: one <see cref="RuleMail.Host.Scheduling.AccountRunner.FetchAsync"/> of the account, as the host runs it, with fresh SQLite state;
/// the peak is reset between the two messages. <c>steps</c>: the same steps as <see cref="IncomingPipeline"/> by
/// hand (spool, hash, parse, decrypt/verify, rule model, rules), each measured on its own, to see which step holds
/// what. Prints one line <c>RESULT {json}</c>.
/// </summary>
internal static class PipelineChild
{
    public const string Verb = "pipeline-child";
    public const string ResultPrefix = "RESULT ";
    private const string Address = "support@rulemail.test";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args is not [var mode, var host, var port, var user, var password, var kindName])
        {
            await Console.Error.WriteLineAsync($"usage: {Verb} run|steps HOST PORT USER PASSWORD KIND");
            return 2;
        }

        var kind = MailKind.Named(kindName);
        using var harness = HostHarness.Create();
        harness.Environment["PW_BIG"] = password;
        var account = new AccountConfig
        {
            Name = "big",
            Address = Address,
            Fetch = new FetchConfig
            {
                Every = "1s",
                Imap = new ServerConfig { Host = host, Port = int.Parse(port, System.Globalization.CultureInfo.InvariantCulture), Security = "none", User = user, PasswordEnv = "PW_BIG", Folder = "INBOX" },
            },
        };
        harness.Accounts.Add(account);
        await using var runtime = await harness.OpenAsync();
        object result = mode switch
        {
            "run" => await RunAsync(runtime, kind),
            "steps" => await StepsAsync(runtime, account),
            _ => throw new ArgumentException($"unknown mode {mode}", nameof(args)),
        };
        Console.WriteLine(ResultPrefix + JsonSerializer.Serialize(result, result.GetType()));
        return 0;
    }

    private static async Task<RunMeasure> RunAsync(RuleMail.Host.Scheduling.HostRuntime runtime, MailKind kind)
    {
        long residentBefore = 0, allocatedBefore = 0, startedAt = 0, peak = 0, allocated = 0, endedAt = 0;
        var reset = false;
        var seen = 0;
        var probe = new Probe(_ =>
        {
            seen++;
            if (seen == 1)
            {
                // The warm-up message is done: start clean, then measure the large one alone.
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                residentBefore = ProcStatus.Resident;
                reset = ProcStatus.ResetPeak();
                allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
                startedAt = Stopwatch.GetTimestamp();
            }
            else if (seen == 2)
            {
                endedAt = Stopwatch.GetTimestamp();
                peak = ProcStatus.Peak;
                allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            }
        });

        var report = await runtime.Accounts[0].FetchAsync(probe, CancellationToken.None);
        if (report.Error is not null || report.Messages.Count != 2)
        {
            throw new InvalidOperationException($"expected 2 messages, got {report.Messages.Count} (error: {report.Error ?? "none"})");
        }

        var large = report.Messages[1];
        var security = large.State == RuleMail.Host.State.MessageState.Done
            ? SecurityStatus.Describe(large.Security)
            : $"{large.State}: {large.Error}";
        return new RunMeasure(kind.Name, Stopwatch.GetElapsedTime(startedAt, endedAt).TotalSeconds, residentBefore, peak, allocated, reset,
            security, large.State == RuleMail.Host.State.MessageState.Done && kind.IsExpected(large.Security));
    }

    private static async Task<List<StepMeasure>> StepsAsync(RuleMail.Host.Scheduling.HostRuntime runtime, AccountConfig account)
    {
        var services = runtime.Services;
        var endpoint = ServerEndpoint.From("imap", account.Fetch!.Imap!, services.Environment);
        await using var source = new ImapSource(endpoint, account.Name, "INBOX", NullLogger.Instance);
        await source.ConnectAsync(CancellationToken.None);
        var listed = await source.ListAsync(services.State, services.Time.GetUtcNow(), CancellationToken.None);
        if (listed.Count != 2)
        {
            throw new InvalidOperationException($"expected 2 messages in INBOX, found {listed.Count}");
        }

        var security = new IncomingSecurity(services.Store);
        Directory.CreateDirectory(services.SpoolDirectory);
        var steps = new List<StepMeasure>();
        foreach (var message in listed)
        {
            var measure = message == listed[^1];
            var spoolPath = Path.Combine(services.SpoolDirectory, $"{Guid.NewGuid():N}.eml");
            await using var spool = new FileStream(spoolPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 81920,
                FileOptions.DeleteOnClose | FileOptions.Asynchronous);
            var baseline = measure ? Live() : 0;

            async Task<T> Step<T>(string name, Func<Task<T>> step)
            {
                if (!measure)
                {
                    return await step();
                }

                Live(); // start each step from a collected heap
                var residentBefore = ProcStatus.Resident;
                ProcStatus.ResetPeak();
                var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
                var started = Stopwatch.GetTimestamp();
                var value = await step();
                var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
                var peak = ProcStatus.Peak - residentBefore;
                GC.KeepAlive(value);
                steps.Add(new StepMeasure(name, seconds, allocated, peak, Live() - baseline));
                return value;
            }

            await Step("IMAP fetch into the spool file (ImapSource.CopyToAsync)", () => source.CopyToAsync(message, spool, CancellationToken.None));
            spool.Position = 0;
            await Step("SHA-256 of the spool file", async () => await SHA256.HashDataAsync(spool));
            var size = spool.Length;
            spool.Position = 0;
            var parsed = await Step("parse (MimeMessage.LoadAsync, persistent)", () => MimeMessage.LoadAsync(spool, persistent: true));
            using var inspected = await Step("decrypt/verify (IncomingSecurity.Inspect)", () => Task.FromResult(security.Inspect(parsed, Address)));
            var model = await Step("rule model (RuleMessage.From)",
                () => Task.FromResult(RuleMessage.From(inspected.Message, inspected.Security, "incoming", Address, size)));
            await Step("rules (RuleSet.Evaluate)", () => Task.FromResult(services.Rules.Evaluate(model, RuleDirection.Incoming)));
            GC.KeepAlive(inspected);
            GC.KeepAlive(parsed);
        }

        return steps;
    }

    /// <summary>Managed bytes still reachable, after a full blocking collection.</summary>
    private static long Live()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>Called on the pipeline's own thread right after each message, unlike <see cref="Progress{T}"/>.</summary>
    private sealed class Probe(Action<ProcessedMessage> onReport) : IProgress<ProcessedMessage>
    {
        public void Report(ProcessedMessage value) => onReport(value);
    }
}
