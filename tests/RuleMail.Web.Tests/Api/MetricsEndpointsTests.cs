using System.Net;
using Microsoft.Extensions.DependencyInjection;
using RuleMail.Host.Scheduling;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Keys;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Api;

/// <summary><c>GET /metrics</c> on the real service, parsed: message counts after a real fetch of the demo mailbox, key expiry, outbox gauges, access.</summary>
public sealed class MetricsEndpointsTests
{
    /// <summary>The demo mailbox's outcomes (keystore-sample/make-demo-mailbox.sh), each message under its worst status.</summary>
    private static readonly (string Status, int Count)[] DemoOutcomes =
    [
        ("plain", 1),             // plain
        ("signed", 2),            // smime-signed, pgp-clearsigned
        ("signature_failed", 6),  // smime-tampered, -not-sender, -expired-signer, -revoked-signer, -unknown-signer, pgp-unknown-signer
        ("encrypted", 2),         // smime-signed-encrypted, pgp-signed-encrypted (both signed too)
        ("decrypt_failed", 2),    // smime-encrypted-other, pgp-no-mdc
    ];

    private static readonly string[] MessageLabels = ["account", "state", "status"];

    private static readonly string[] Subjects = ["Where is my order?", "New delivery address", "Invoice", "New bank account", "Urgent"];

    [Fact]
    public async Task After_a_fetch_of_the_demo_mailbox_the_scrape_counts_each_security_status_actions_and_the_run()
    {
        using var host = HostHarness.Create();
        CopyDemoMailbox(host.AddMaildirAccount());
        await using var web = await WebHarness.StartAsync(host);

        // The service's own runtime, so the fetch is counted by its meter (a second runtime could not take the state's host lock).
        var report = await web.App.Services.GetRequiredService<HostRuntime>().Accounts[0].FetchAsync(null, CancellationToken.None);
        Assert.Null(report.Error);
        Assert.Equal(13, report.Messages.Count);

        var response = await (await web.ClientAsync(ApiRole.Viewer)).GetAsync("metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        var metrics = PrometheusText.Parse(text);

        foreach (var (status, count) in DemoOutcomes)
        {
            Assert.Equal(count, metrics.Value("rulemail_messages_total", ("account", "demo"), ("status", status), ("state", "done")));
        }

        Assert.Equal(13, metrics.All("rulemail_messages_total").Sum(s => s.Value));

        // The shipped rule flags and quarantines the 8 failures: one keyword and one move each, all done.
        Assert.Equal(8, metrics.Value("rulemail_actions_total", ("account", "demo"), ("kind", "move"), ("outcome", "done")));
        Assert.Equal(8, metrics.Value("rulemail_actions_total", ("account", "demo"), ("kind", "keyword"), ("outcome", "done")));
        Assert.DoesNotContain(metrics.All("rulemail_actions_total"), s => s.Labels["outcome"] != "done");

        Assert.Equal("histogram", metrics.Types["rulemail_fetch_duration_seconds"]);
        Assert.Equal(1, metrics.Value("rulemail_fetch_duration_seconds_count", ("account", "demo"), ("outcome", "ok")));
        var seconds = metrics.Value("rulemail_fetch_duration_seconds_sum", ("account", "demo"), ("outcome", "ok"));
        Assert.InRange(seconds, 0.001, 120);
        Assert.Equal(1, metrics.Value("rulemail_fetch_duration_seconds_bucket", ("account", "demo"), ("outcome", "ok"), ("le", "+Inf")));

        // Labels are account names, statuses and states: nothing of a message (its subject, its sender) is in the scrape.
        Assert.All(Subjects, subject => Assert.DoesNotContain(subject, text, StringComparison.Ordinal));
        Assert.All(metrics.All("rulemail_messages_total"), s => Assert.Equal(MessageLabels, s.Labels.Keys.Order(StringComparer.Ordinal)));
        Assert.DoesNotContain("mallory", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_expiry_is_in_days_per_key_of_the_store_in_force_reloaded_store_included()
    {
        using var host = HostHarness.Create();
        host.CopyKeyStore();
        await using var web = await WebHarness.StartAsync(host);
        var client = await web.ClientAsync(ApiRole.Viewer);
        var store = web.App.Services.GetRequiredService<KeyStore>();

        var before = PrometheusText.Parse(await client.GetStringAsync("metrics"));
        AssertExpiryOfEveryKey(store, before);
        Assert.Contains(before.All("rulemail_key_expiry_days"), s => s.Value < 0); // dave@expired.test expired in 2021.
        Assert.Contains(before.All("rulemail_key_expiry_days"), s => s.Value > 30);
        Assert.Contains(before.All("rulemail_key_expiry_days"), s => s.Has(("kind", "smime")));
        Assert.Contains(before.All("rulemail_key_expiry_days"), s => s.Has(("kind", "pgp")));

        // A key imported and reloaded (what a live reload does) is in the next scrape.
        host.ImportIntoKeystore("stranger.crt");
        var change = store.ReloadAndUnlockAll();
        var stranger = Assert.Single(store.Entries, e => e.Addresses.Contains("stranger@unknown.test"));
        var after = PrometheusText.Parse(await client.GetStringAsync("metrics"));
        AssertExpiryOfEveryKey(store, after);
        Assert.False(change.IsEmpty);
        Assert.Equal("stranger@unknown.test", Assert.Single(after.All("rulemail_key_expiry_days", ("fingerprint", stranger.Fingerprint))).Labels["address"]);
    }

    [Fact]
    public async Task Held_and_failed_outbox_messages_are_gauges_per_account()
    {
        using var host = HostHarness.Create();
        host.AddMaildirAccount();
        await using var web = await WebHarness.StartAsync(host);
        var state = web.App.Services.GetRequiredService<IStateStore>();
        foreach (var (file, outbox) in new[] { ("a.eml", OutboxState.Held), ("b.eml", OutboxState.Held), ("c.eml", OutboxState.Failed), ("d.eml", OutboxState.Sent) })
        {
            await state.SaveOutboxAsync(new OutboxEntry
            {
                Account = "demo",
                FileName = file,
                ContentHash = new string('1', 64),
                State = outbox,
                UpdatedAt = TimeProvider.System.GetUtcNow(),
            }, CancellationToken.None);
        }

        var metrics = PrometheusText.Parse(await (await web.ClientAsync(ApiRole.Viewer)).GetStringAsync("metrics"));

        Assert.Equal(2, metrics.Value("rulemail_outbox_messages", ("account", "demo"), ("state", "held")));
        Assert.Equal(1, metrics.Value("rulemail_outbox_messages", ("account", "demo"), ("state", "failed")));
        Assert.Equal(2, metrics.All("rulemail_outbox_messages").Count);
    }

    [Fact]
    public async Task Without_a_token_metrics_answer_401_and_a_viewer_token_is_enough()
    {
        using var host = HostHarness.Create();
        await using var web = await WebHarness.StartAsync(host);

        var anonymous = await web.Client().GetAsync("metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("application/problem+json", anonymous.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Unauthorized, (await web.Client("rmt_not-a-token").GetAsync("metrics")).StatusCode);

        var scrape = PrometheusText.Parse(await (await web.ClientAsync(ApiRole.Viewer)).GetStringAsync("metrics"));
        Assert.NotEmpty(scrape.All("process_cpu_seconds_total")); // The process's own figures stay beside RuleMail's.
    }

    private static void AssertExpiryOfEveryKey(KeyStore store, PrometheusText metrics)
    {
        var now = TimeProvider.System.GetUtcNow();
        var keys = store.Entries.Where(e => e.Kind != KeyKind.Crl && e.NotAfter is not null).ToList();
        Assert.NotEmpty(keys);
        Assert.Equal(keys.Count, metrics.All("rulemail_key_expiry_days").Count);
        foreach (var key in keys)
        {
            var sample = Assert.Single(metrics.All("rulemail_key_expiry_days", ("fingerprint", key.Fingerprint)));
            var days = (key.NotAfter!.Value - now).TotalDays;
            Assert.InRange(sample.Value, days - 0.01, days + 0.01);
            Assert.Equal(key.Kind.ToString().ToLowerInvariant(), sample.Labels["kind"]);
            Assert.Equal(string.Join(",", key.Addresses), sample.Labels["address"]);
        }
    }

    private static void CopyDemoMailbox(string maildir)
    {
        foreach (var file in Directory.GetFiles(Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "mailbox", "new")))
        {
            File.Copy(file, Path.Combine(maildir, "new", Path.GetFileName(file)));
        }
    }
}
