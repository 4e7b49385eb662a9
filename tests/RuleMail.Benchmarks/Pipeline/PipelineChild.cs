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
            "run" => await RunAsync(runtime, kind, new ImapLogin(host, int.Parse(port, System.Globalization.CultureInfo.InvariantCulture), user, password)),
            "steps" => await StepsAsync(runtime, account),
            _ => throw new ArgumentException($"unknown mode {mode}", nameof(args)),
        };
        Console.WriteLine(ResultPrefix + JsonSerializer.Serialize(result, result.GetType()));
        return 0;
    }

    private static async Task<RunMeasure> RunAsync(RuleMail.Host.Scheduling.HostRuntime runtime, MailKind kind, ImapLogin login)
    {
        // The warm-up message is fetched alone, with the large one held in another folder: within one fetch the host
        // commits plain analyses in batches and reports both messages together at the end, so a peak reset "after the
        // first message" would come after the large one too. Moved back, the large message has a new UID and is the
        // only new message of the second fetch.
        await MoveLargestAsync(login, "INBOX", HoldFolder);
        var warm = await runtime.Accounts[0].FetchAsync(new Probe(_ => { }), CancellationToken.None);
        if (warm.Error is not null || warm.Messages.Count != 1)
        {
            throw new InvalidOperationException($"warm-up: expected 1 message, got {warm.Messages.Count} (error: {warm.Error ?? "none"})");
        }

        await MoveLargestAsync(login, HoldFolder, "INBOX");
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var residentBefore = ProcStatus.Resident;
        var reset = ProcStatus.ResetPeak();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var startedAt = Stopwatch.GetTimestamp();
        var report = await runtime.Accounts[0].FetchAsync(new Probe(_ => { }), CancellationToken.None);
        var endedAt = Stopwatch.GetTimestamp();
        var peak = ProcStatus.Peak;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        if (report.Error is not null || report.Messages.Count != 1)
        {
            throw new InvalidOperationException($"expected 1 message, got {report.Messages.Count} (error: {report.Error ?? "none"})");
        }

        var large = report.Messages[0];
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

    private const string HoldFolder = "Hold";

    private sealed record ImapLogin(string Host, int Port, string User, string Password);

    /// <summary>Moves the largest message of <paramref name="from"/> to <paramref name="to"/> (made when missing), on the server.</summary>
    private static async Task MoveLargestAsync(ImapLogin login, string from, string to)
    {
        using var client = new MailKit.Net.Imap.ImapClient();
        await client.ConnectAsync(login.Host, login.Port, MailKit.Security.SecureSocketOptions.None);
        await client.AuthenticateAsync(login.User, login.Password);
        var source = await FolderAsync(client, from);
        var target = await FolderAsync(client, to);
        await source.OpenAsync(MailKit.FolderAccess.ReadWrite);
        var items = await source.FetchAsync(0, -1, new MailKit.FetchRequest(MailKit.MessageSummaryItems.UniqueId | MailKit.MessageSummaryItems.Size));
        var largest = items.MaxBy(i => i.Size) ?? throw new InvalidOperationException($"{from} is empty");
        _ = await source.MoveToAsync(largest.UniqueId, target);
        await client.DisconnectAsync(quit: true);
    }

    private static async Task<MailKit.IMailFolder> FolderAsync(MailKit.Net.Imap.ImapClient client, string name)
    {
        if (name == "INBOX")
        {
            return client.Inbox;
        }

        try
        {
            return await client.GetFolderAsync(name);
        }
        catch (MailKit.FolderNotFoundException)
        {
            return await client.GetFolder(client.PersonalNamespaces[0]).CreateAsync(name, isMessageFolder: true)
                ?? throw new InvalidOperationException($"the server did not make the folder {name}");
        }
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
