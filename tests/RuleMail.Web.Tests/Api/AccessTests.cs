using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Web.Access;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Api;

/// <summary>Bearer tokens on the real service: no token 401, a role too small 403, revoked 401, too many failures 429; never logged.</summary>
public sealed class AccessTests : IAsyncLifetime
{
    private static readonly string[] Alice = ["alice@customer.test"];
    private static readonly object Draft = new { from = "support@rulemail.test", to = Alice };
    private readonly HostHarness _host = HostHarness.Create();
    private WebHarness _web = null!;

    public async Task InitializeAsync() => _web = await WebHarness.StartAsync(_host, time: _host.Time);

    public async Task DisposeAsync()
    {
        await _web.DisposeAsync();
        _host.Dispose();
    }

    [Fact]
    public async Task Without_a_token_the_api_answers_401_problem_json_with_how_to_get_one()
    {
        var response = await _web.Client().PostAsJsonAsync("api/v1/options", Draft);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        var problem = await Problem(response);
        Assert.Equal(401, problem.GetProperty("status").GetInt32());
        Assert.Contains("rulemail tokens create", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_and_the_openapi_document_need_no_token()
    {
        var client = _web.Client();
        Assert.Equal("ok\n", await client.GetStringAsync("healthz"));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("openapi/v1.json")).StatusCode);
    }

    [Theory]
    [InlineData(ApiRole.Viewer, "api/v1/options", HttpStatusCode.OK)]
    [InlineData(ApiRole.Viewer, "api/v1/compose", HttpStatusCode.Forbidden)]
    [InlineData(ApiRole.Agent, "api/v1/compose", HttpStatusCode.OK)]
    [InlineData(ApiRole.Admin, "api/v1/compose", HttpStatusCode.OK)]
    public async Task Each_role_may_do_what_the_roles_below_it_may(ApiRole role, string path, HttpStatusCode expected)
    {
        var client = await _web.ClientAsync(role);
        var response = await client.PostAsJsonAsync(path, new { from = "support@rulemail.test", to = Alice, subject = "s", text = "t" });

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.Forbidden)
        {
            var detail = (await Problem(response)).GetProperty("detail").GetString();
            Assert.Equal("the token's role (viewer) may not do this; it needs the role agent or above", detail);
        }
    }

    [Fact]
    public async Task A_revoked_token_is_refused_by_its_next_request()
    {
        var tokens = _web.App.Services.GetRequiredService<ApiTokens>();
        var (_, secret) = await tokens.CreateAsync("ticket-system", ApiRole.Viewer, CancellationToken.None);
        var client = _web.Client(secret);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("api/v1/options", Draft)).StatusCode);

        await tokens.RevokeAsync("ticket-system", CancellationToken.None);

        var response = await client.PostAsJsonAsync("api/v1/options", Draft);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("the token is not known, or was revoked", (await Problem(response)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_token_made_by_the_cli_while_the_service_runs_is_accepted_and_revoked_by_it_too()
    {
        var config = _host.ConfigPath;
        await File.WriteAllTextAsync(config, $"""
            keystore: {_host.KeystoreDirectory}
            rules: {_host.RulesDirectory}
            state: {_host.StatePath}
            """);
        var made = RuleMail.Cli.Tests.Support.CliRun.Run(_host.Folder.Path, null, "tokens", "create", "zammad", "--role", "agent", "--config", config);
        Assert.True(made.ExitCode == 0, made.Error);
        var secret = made.Output.Trim();
        Assert.StartsWith(ApiTokens.Prefix, secret, StringComparison.Ordinal);
        var client = _web.Client(secret);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("api/v1/options", Draft)).StatusCode);

        var listed = RuleMail.Cli.Tests.Support.CliRun.Run(_host.Folder.Path, null, "tokens", "list", "--config", config);
        Assert.Contains("zammad", listed.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, listed.Output, StringComparison.Ordinal);
        var revoked = RuleMail.Cli.Tests.Support.CliRun.Run(_host.Folder.Path, null, "tokens", "revoke", "zammad", "--config", config);
        Assert.True(revoked.ExitCode == 0, revoked.Error);

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("api/v1/options", Draft)).StatusCode);
        Assert.DoesNotContain(secret, _web.Logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task After_too_many_failures_an_address_gets_429_even_with_a_good_token_until_the_block_ends()
    {
        var good = await _web.ClientAsync(ApiRole.Viewer);
        var bad = _web.Client(ApiTokens.Prefix + "not-a-real-token-but-long-enough");
        for (var i = 0; i < FailedSignIns.PermitsPerWindow; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await bad.PostAsJsonAsync("api/v1/options", Draft)).StatusCode);
        }

        await AssertBlockedAsync(await bad.PostAsJsonAsync("api/v1/options", Draft), 60);
        await AssertBlockedAsync(await good.PostAsJsonAsync("api/v1/options", Draft), 60);
        _host.Time.Advance(FailedSignIns.Window - TimeSpan.FromSeconds(1));
        await AssertBlockedAsync(await good.PostAsJsonAsync("api/v1/options", Draft), 1);
        _host.Time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(HttpStatusCode.OK, (await good.PostAsJsonAsync("api/v1/options", Draft)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await bad.PostAsJsonAsync("api/v1/options", Draft)).StatusCode);
        Assert.DoesNotContain("not-a-real-token", _web.Logs.All, StringComparison.Ordinal);
    }

    private static async Task AssertBlockedAsync(HttpResponseMessage response, int seconds)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(seconds), response.Headers.RetryAfter?.Delta);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"too many failed authentications from this address: every token from it is refused for {seconds} more seconds",
            (await Problem(response)).GetProperty("detail").GetString());
    }

    private static async Task<JsonElement> Problem(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
}
