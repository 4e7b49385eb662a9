using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Processing;

/// <summary>The pipeline over POP3 (real Dovecot): by UIDL, once across runs, never deleting; keywords and moves are recorded as impossible.</summary>
public sealed class Pop3PipelineTests : IAsyncLifetime
{
    private const string User = "support";
    private const string Password = "pop3-secret";
    private readonly HostHarness _harness = HostHarness.Create();
    private DovecotServer _dovecot = null!;
    private WebhookListener _webhook = null!;

    public async Task InitializeAsync()
    {
        _dovecot = await DovecotServer.StartAsync((User, Password));
        _webhook = WebhookListener.Start();
        _harness.Environment["POP3_PASSWORD"] = Password;
        _harness.Accounts.Add(new AccountConfig
        {
            Name = "support",
            Address = "support@rulemail.test",
            Fetch = new FetchConfig
            {
                Pop3 = new ServerConfig { Host = _dovecot.Host, Port = _dovecot.Pop3Port, Security = "none", User = User, PasswordEnv = "POP3_PASSWORD" },
            },
        });
        _harness.AddWebhookRule(_webhook.Url);
    }

    public async Task DisposeAsync()
    {
        await _webhook.DisposeAsync();
        await _dovecot.DisposeAsync();
        _harness.Dispose();
    }

    [Fact]
    public async Task Each_message_is_processed_once_by_UIDL_and_stays_on_the_server()
    {
        await _dovecot.AppendAsync(User, Password, HostHarness.DemoMessage("smime-tampered"));
        await _dovecot.AppendAsync(User, Password, HostHarness.DemoMessage("plain"));

        var first = await _harness.FetchOnceAsync();
        var second = await _harness.FetchOnceAsync();

        Assert.Null(first.Error);
        Assert.Equal(2, first.Messages.Count);
        Assert.Empty(second.Messages);
        Assert.Equal(2, _webhook.Acknowledged.Count);
        Assert.Equal(2, await _dovecot.CountAsync(User, Password));
        var failed = Assert.Single(first.Messages, m => m.Security?.Sign?.Success == false);
        Assert.Equal(MessageState.Done, failed.State);
        Assert.Contains(failed.Actions, a => a.StartsWith("flag security-failed: skipped", StringComparison.Ordinal));
        Assert.Contains(failed.Actions, a => a.StartsWith("move Quarantine: skipped", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_retry_over_POP3_reads_the_message_again_by_its_UIDL_and_tells_only_the_webhook()
    {
        _harness.CopyKeyStore();
        await _dovecot.AppendAsync(User, Password, HostHarness.DemoMessage("smime-unknown-signer"));
        var key = Assert.Single((await _harness.FetchOnceAsync()).Messages).SourceKey;
        _harness.ImportIntoKeystore("stranger.crt");

        var retried = Assert.Single((await _harness.RetryOnceAsync()).Messages);
        var fetch = await _harness.FetchOnceAsync();

        // POP3 never moved or flagged it: it is where it was, and nothing is there to undo.
        Assert.Equal(Host.Processing.RetryOutcome.Changed, retried.Outcome);
        Assert.Equal(new MessageLocation("POP3", key), retried.Location);
        Assert.Single(retried.Actions);
        Assert.StartsWith("webhook ", retried.Actions[0], StringComparison.Ordinal);
        Assert.Empty(fetch.Messages);
        Assert.Equal(2, _webhook.Acknowledged.Count);
        Assert.Equal(1, await _dovecot.CountAsync(User, Password));
    }
}
