using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RuleMail.Host.Configuration;
using RuleMail.Host.Scheduling;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Api;

/// <summary><c>GET /readyz</c> on the real service: ready under serve, 503 with a clear detail when an account's server is unreachable.</summary>
public sealed class ReadinessEndpointsTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Under_serve_it_is_ready_with_every_check_and_the_accounts_not_scheduled()
    {
        using var host = HostHarness.Create();
        host.AddMaildirAccount();
        await using var web = await WebHarness.StartAsync(host);

        var response = await (await web.ClientAsync(ApiRole.Viewer)).GetAsync("readyz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = document.RootElement;
        Assert.True(root.GetProperty("ready").GetBoolean());
        var checks = root.GetProperty("checks");
        foreach (var check in new[] { "keystore", "state", "rules" })
        {
            Assert.True(checks.GetProperty(check).GetProperty("ok").GetBoolean(), check);
            Assert.False(string.IsNullOrWhiteSpace(checks.GetProperty(check).GetProperty("detail").GetString()), check);
        }

        Assert.Matches(@"^\d+ entries, \d+ with a private key, unlocked$", checks.GetProperty("keystore").GetProperty("detail").GetString());
        Assert.Equal("answers; outbox: 0 held, 0 failed", checks.GetProperty("state").GetProperty("detail").GetString());
        var demo = checks.GetProperty("accounts").GetProperty("demo");
        var fetch = demo.GetProperty("fetch");
        Assert.True(fetch.GetProperty("ok").GetBoolean());
        Assert.False(fetch.GetProperty("scheduled").GetBoolean());
        Assert.Equal(JsonValueKind.Null, fetch.GetProperty("last_run").ValueKind);
        Assert.Equal(JsonValueKind.Null, demo.GetProperty("send").ValueKind); // The demo account has no outbox.
    }

    [Fact]
    public async Task An_account_whose_imap_server_is_unreachable_makes_it_503_while_a_working_one_stays_ok()
    {
        using var host = HostHarness.Create();
        host.AddMaildirAccount();
        host.Accounts[0].Fetch!.Every = "1s";
        var closed = LoopbackPort.PickFree(); // Nothing listens there: the connection is refused.
        host.Environment["PW_SUPPORT"] = "unused";
        host.Accounts.Add(new AccountConfig
        {
            Name = "support",
            Address = "support@rulemail.test",
            Fetch = new FetchConfig
            {
                Every = "1s",
                Imap = new ServerConfig { Host = LoopbackPort.Host, Port = closed, Security = "none", User = "support", PasswordEnv = "PW_SUPPORT" },
            },
        });
        await using var web = await WebHarness.StartAsync(host, schedule: true);
        var client = await web.ClientAsync(ApiRole.Viewer);

        // Both accounts' first fetch has ended, as the job health records it.
        var health = web.App.Services.GetRequiredService<HostRuntime>().Health;
        await WaitUntilAsync(() => health.LastRun("fetch:support") is not null && health.LastRun("fetch:demo") is not null);

        var response = await client.GetAsync("readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = document.RootElement;
        Assert.False(root.GetProperty("ready").GetBoolean());
        var checks = root.GetProperty("checks");
        Assert.True(checks.GetProperty("keystore").GetProperty("ok").GetBoolean());
        Assert.True(checks.GetProperty("state").GetProperty("ok").GetBoolean());
        Assert.True(checks.GetProperty("rules").GetProperty("ok").GetBoolean());

        var support = checks.GetProperty("accounts").GetProperty("support").GetProperty("fetch");
        Assert.False(support.GetProperty("ok").GetBoolean());
        Assert.True(support.GetProperty("scheduled").GetBoolean());
        var error = support.GetProperty("error").GetString()!;
        Assert.Contains($"{LoopbackPort.Host}:{closed}", error, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.String, support.GetProperty("last_run").ValueKind);
        Assert.True(support.GetProperty("next_attempt").GetDateTimeOffset() > support.GetProperty("last_run").GetDateTimeOffset());
        Assert.DoesNotContain("unused", root.GetRawText(), StringComparison.Ordinal); // Never the password.

        var demo = checks.GetProperty("accounts").GetProperty("demo").GetProperty("fetch");
        Assert.True(demo.GetProperty("ok").GetBoolean());
        Assert.True(demo.GetProperty("scheduled").GetBoolean());
        Assert.Equal(JsonValueKind.Null, demo.GetProperty("error").ValueKind);
        Assert.Equal(JsonValueKind.String, demo.GetProperty("last_run").ValueKind);
    }

    [Fact]
    public async Task Without_a_token_readyz_answers_401()
    {
        using var host = HostHarness.Create();
        await using var web = await WebHarness.StartAsync(host);

        var response = await web.Client().GetAsync("readyz");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_openapi_document_describes_readyz_and_metrics()
    {
        using var host = HostHarness.Create();
        await using var web = await WebHarness.StartAsync(host);

        using var openapi = JsonDocument.Parse(await web.Client().GetStringAsync("openapi/v1.json"));
        var paths = openapi.RootElement.GetProperty("paths");
        var readyz = paths.GetProperty("/readyz").GetProperty("get").GetProperty("responses");
        Assert.True(readyz.TryGetProperty("200", out _));
        Assert.True(readyz.TryGetProperty("503", out _));
        Assert.True(paths.GetProperty("/metrics").GetProperty("get").GetProperty("responses").GetProperty("200")
            .GetProperty("content").TryGetProperty("text/plain", out _));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while (!condition())
        {
            Assert.True(await tick.WaitForNextTickAsync(deadline.Token).AsTask().ContinueWith(t => !t.IsCanceled, TaskScheduler.Default),
                $"the condition did not hold within {Deadline.TotalSeconds} s");
        }
    }
}
