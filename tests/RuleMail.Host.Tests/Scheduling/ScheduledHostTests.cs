using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RuleMail.Host.Configuration;
using RuleMail.Host.Scheduling;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Scheduling;

/// <summary>The long-running service: Quartz runs each account's fetch job on its schedule until it is stopped.</summary>
public sealed class ScheduledHostTests : IDisposable
{
    private readonly HostHarness _harness = HostHarness.Create();

    [Fact]
    public async Task Quartz_fetches_on_schedule_picks_up_new_mail_and_stops_gracefully()
    {
        var maildir = _harness.Folder.File("Maildir");
        foreach (var sub in new[] { "new", "cur", "tmp" })
        {
            Directory.CreateDirectory(Path.Combine(maildir, sub));
        }

        Deliver(maildir, "plain");
        Deliver(maildir, "smime-tampered");
        _harness.Accounts.Add(new AccountConfig
        {
            Name = "demo",
            Address = "support@rulemail.test",
            Fetch = new FetchConfig { Every = "1s", Maildir = maildir },
        });
        using var built = _harness.BuildScheduledHost();
        var runtime = built.Services.GetRequiredService<HostRuntime>();
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        var host = built.RunAsync(stop.Token);
        await WaitForDoneAsync(runtime, 2, stop.Token);
        Deliver(maildir, "smime-signed");
        await WaitForDoneAsync(runtime, 3, stop.Token);
        Assert.Equal(3, (await runtime.Services.State.CountMessagesAsync("demo", CancellationToken.None))[MessageState.Done]);
        await stop.CancelAsync();
        await host.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Single(Directory.GetFiles(Path.Combine(maildir, ".Quarantine", "cur")));
    }

    public void Dispose() => _harness.Dispose();

    private static void Deliver(string maildir, string demo) =>
        File.WriteAllBytes(Path.Combine(maildir, "new", $"{Guid.NewGuid():N}.demo-{demo}"), HostHarness.DemoMessage(demo));

    private static async Task WaitForDoneAsync(HostRuntime runtime, int count, CancellationToken cancellationToken)
    {
        while ((await runtime.Services.State.CountMessagesAsync("demo", cancellationToken))[MessageState.Done] < count)
        {
            await Task.Delay(100, cancellationToken);
        }
    }
}
