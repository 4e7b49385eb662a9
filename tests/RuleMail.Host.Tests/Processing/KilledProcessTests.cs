using System.Diagnostics;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Processing;

/// <summary>
/// The real <c>rulemail run --once</c> process killed (SIGKILL) in the middle of a batch, while a webhook call is
/// in flight, then started again: every message still gives exactly one acknowledged webhook call, failed-security
/// mail still ends in Quarantine, and nothing is lost.
/// </summary>
public sealed class KilledProcessTests : IAsyncLifetime
{
    private const string User = "support";
    private const string Password = "imap-secret";
    private static readonly string[] FailedDemos = ["smime-tampered", "smime-encrypted-other", "pgp-no-mdc"];
    private static readonly string[] GoodDemos = ["plain", "smime-signed", "smime-signed-encrypted", "pgp-clearsigned"];
    private readonly HostHarness _harness = HostHarness.Create();
    private DovecotServer _dovecot = null!;
    private WebhookListener _webhook = null!;

    public async Task InitializeAsync()
    {
        _dovecot = await DovecotServer.StartAsync((User, Password));
        _webhook = WebhookListener.Start();
        _harness.AddWebhookRule(_webhook.Url);
        File.WriteAllText(_harness.ConfigPath, $"""
            keystore: {Path.Combine(HostHarness.RepositoryRoot, "keystore-sample")}
            keystore_passphrase_file: {Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "passphrase.txt")}
            rules: {_harness.RulesDirectory}
            state: {_harness.StatePath}
            accounts:
              - name: support
                address: support@rulemail.test
                fetch:
                  imap:
                    host: {_dovecot.Host}
                    port: {_dovecot.ImapPort}
                    security: none
                    user: {User}
                    password_env: SUPPORT_PASSWORD
            """);
    }

    public async Task DisposeAsync()
    {
        await _webhook.DisposeAsync();
        await _dovecot.DisposeAsync();
        _harness.Dispose();
    }

    [Fact]
    public async Task Killed_mid_batch_then_restarted_every_message_is_handled_exactly_once()
    {
        foreach (var name in GoodDemos.Concat(FailedDemos))
        {
            await _dovecot.AppendAsync(User, Password, HostHarness.DemoMessage(name));
        }

        for (var i = 0; i < 5; i++)
        {
            await AppendPlainAsync($"bulk-{i}");
        }

        const int total = 12;
        using (var first = Start())
        {
            var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _webhook.BeforeRespond = async request =>
            {
                if (request.Sequence == 5)
                {
                    first.Kill(entireProcessTree: true);
                    await first.WaitForExitAsync();
                    killed.TrySetResult();
                    throw new IOException("the caller was killed before it heard the answer");
                }
            };
            await first.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
            await killed.Task.WaitAsync(TimeSpan.FromSeconds(10));
            _webhook.BeforeRespond = null;
        }

        // Webhooks of several messages run at once, so besides the four answered before the fifth call, calls that were
        // in flight with it may have been answered too, just before the host died and before it could record them.
        var answeredBeforeKill = _webhook.Acknowledged.Select(r => r.IdempotencyKey).ToHashSet(StringComparer.Ordinal);
        Assert.True(answeredBeforeKill.Count >= 4, $"{answeredBeforeKill.Count} calls were answered before the kill");

        var (exitCode, output) = await RunToEndAsync();
        var (againExitCode, againOutput) = await RunToEndAsync();

        Assert.True(exitCode == 0, output);
        Assert.True(againExitCode == 0, againOutput);
        var acknowledged = _webhook.Acknowledged.GroupBy(r => r.IdempotencyKey, StringComparer.Ordinal).ToList();
        Assert.Equal(total, acknowledged.Count); // Every message's call was answered at least once ...
        var repeated = acknowledged.Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        // ... and a call answered twice is only one that was in flight when the host was killed (the documented
        // at-least-once window: the whole call, at most one per plan in flight), repeated with the same key.
        Assert.All(repeated, key => Assert.Contains(key, answeredBeforeKill));
        Assert.True(repeated.Count <= RuleMail.Host.Processing.IncomingPipeline.MaxPlansInFlight, $"{repeated.Count} calls were repeated");
        Assert.All(acknowledged, g => Assert.True(g.Count() <= 2, $"{g.Key} was answered {g.Count()} times"));
        Assert.True(_webhook.Received.Count > total, "the call in flight at the kill was never answered, so it was received again");
        var quarantine = await _dovecot.ListAsync(User, Password, "Quarantine");
        Assert.Equal(FailedDemos.Length, quarantine.Count);
        Assert.All(quarantine, m => Assert.Contains("security-failed", m.Keywords));
        Assert.Equal(total - FailedDemos.Length, await _dovecot.CountAsync(User, Password));
        Assert.Contains("nothing new", againOutput, StringComparison.Ordinal);
    }

    private Process Start()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _harness.Folder.Path,
        };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "rulemail.dll"), "run", "--once", "--config", _harness.ConfigPath })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["SUPPORT_PASSWORD"] = Password;
        start.Environment.Remove("RULEMAIL_KEYSTORE_PASSPHRASE");
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        return process;
    }

    private async Task<(int ExitCode, string Output)> RunToEndAsync()
    {
        using var process = Start();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (process.ExitCode, await output + await error);
    }

    private Task AppendPlainAsync(string id) => _dovecot.AppendAsync(User, Password, HostHarness.PlainQuestion(id));
}
