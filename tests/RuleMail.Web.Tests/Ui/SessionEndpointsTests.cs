using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Web.Access;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Ui;

/// <summary>
/// The UI's session endpoints over plain HTTP, as an attacker would call them: the sign-in form needs its antiforgery
/// token (no login CSRF), failures count toward the address's limit like bearer failures, the session cookie opens
/// the API only with the antiforgery token for anything that changes something, and a bearer request never needs one.
/// </summary>
public sealed class SessionEndpointsTests : IAsyncLifetime
{
    private static readonly string[] Alice = ["alice@customer.test"];

    private readonly HostHarness _host = HostHarness.Create();
    private WebHarness _web = null!;

    public async Task InitializeAsync()
    {
        _host.AddMaildirAccount();
        _web = await WebHarness.StartAsync(_host);
    }

    public async Task DisposeAsync()
    {
        await _web.DisposeAsync();
        _host.Dispose();
    }

    [Fact]
    public async Task The_sign_in_form_without_its_antiforgery_token_is_refused_even_with_a_good_token()
    {
        var secret = await SecretAsync(ApiRole.Admin);
        var (client, _) = Browser();

        var answer = await client.PostAsync("ui/session", new FormUrlEncodedContent([new("token", secret)]));

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.StartsWith("the antiforgery token is missing", await DetailAsync(answer), StringComparison.Ordinal);
        Assert.DoesNotContain(answer.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : [], c => c.StartsWith("rulemail.session=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_signed_in_session_reads_with_the_cookie_but_changes_nothing_without_the_antiforgery_header()
    {
        var (client, csrf) = await SignedInAsync(ApiRole.Admin);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("api/v1/keys")).StatusCode);

        var options = new { from = "support@rulemail.test", to = Alice };
        var refused = await client.PostAsJsonAsync("api/v1/options", options);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.StartsWith("the antiforgery token is missing or does not match this session", await DetailAsync(refused), StringComparison.Ordinal);

        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/options") { Content = JsonContent.Create(options) };
        request.Headers.Add("X-CSRF-Token", csrf);
        var admitted = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);

        // Another session's token does not do: it is bound to who signed in.
        var (_, otherCsrf) = await SignedInAsync(ApiRole.Admin);
        using var crossed = new HttpRequestMessage(HttpMethod.Post, "api/v1/options") { Content = JsonContent.Create(options) };
        crossed.Headers.Add("X-CSRF-Token", otherCsrf);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.SendAsync(crossed)).StatusCode);
    }

    [Fact]
    public async Task Bearer_requests_need_no_antiforgery_token()
    {
        var agent = await _web.ClientAsync(ApiRole.Agent);

        var answer = await agent.PostAsJsonAsync("api/v1/options", new { from = "support@rulemail.test", to = Alice });

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
    }

    [Fact]
    public async Task Failed_sign_ins_count_toward_the_addresss_limit_and_then_the_form_answers_429()
    {
        var (client, csrf) = await AnonymousAsync();
        for (var i = 0; i < FailedSignIns.PermitsPerWindow; i++)
        {
            var failed = await SignInAsync(client, csrf, "rmt_" + new string('x', 43));
            Assert.Equal(HttpStatusCode.Unauthorized, failed.StatusCode);
        }

        var blocked = await SignInAsync(client, csrf, await SecretAsync(ApiRole.Viewer));

        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode);
        Assert.NotNull(blocked.Headers.RetryAfter);
    }

    [Fact]
    public async Task The_session_document_names_the_token_and_role_and_the_accounts_but_never_the_token()
    {
        var secret = await SecretAsync(ApiRole.Agent, "helpdesk-bert");
        var (client, csrf) = await AnonymousAsync();

        var answer = await SignInAsync(client, csrf, secret);

        var text = await answer.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        using var session = JsonDocument.Parse(text);
        Assert.True(session.RootElement.GetProperty("signed_in").GetBoolean());
        Assert.Equal("helpdesk-bert", session.RootElement.GetProperty("name").GetString());
        Assert.Equal("agent", session.RootElement.GetProperty("role").GetString());
        Assert.Equal("support@rulemail.test", session.RootElement.GetProperty("accounts")[0].GetProperty("address").GetString());
        var cookie = answer.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("rulemail.session=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_sign_out_posted_without_the_session_cookie_clears_nothing_so_another_site_cannot_sign_anyone_out()
    {
        // What a page elsewhere makes the browser send: a POST without the SameSite=Strict cookie, without the token.
        var (client, _) = Browser();

        var answer = await client.PostAsync("ui/session/end", new FormUrlEncodedContent([]));

        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        Assert.False(answer.Headers.Contains("Set-Cookie"), string.Join(" | ", answer.Headers.TryGetValues("Set-Cookie", out var c) ? c : []));
    }

    [Fact]
    public async Task A_token_signs_in_at_most_20_times_a_minute_so_sign_in_and_out_loops_cannot_grow_the_ended_list()
    {
        var secret = await SecretAsync(ApiRole.Viewer, "looping");
        for (var i = 0; i < Web.Ui.SignInPace.PerWindow; i++)
        {
            var (client, csrf) = await AnonymousAsync();
            Assert.Equal(HttpStatusCode.OK, (await SignInAsync(client, csrf, secret)).StatusCode);
        }

        var (late, lateCsrf) = await AnonymousAsync();
        var refused = await SignInAsync(late, lateCsrf, secret);
        var other = await SignInAsync(late, lateCsrf, await SecretAsync(ApiRole.Viewer));

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.StartsWith("the token looping signed in 20 times within a minute", await DetailAsync(refused), StringComparison.Ordinal);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode); // Another token is not held up.
    }

    [Fact]
    public async Task An_error_answer_carries_the_security_headers_too()
    {
        var viewer = await _web.ClientAsync(ApiRole.Viewer);

        var answer = await viewer.PostAsync("api/v1/options", new StringContent("{bad", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.Equal(Web.Ui.SecurityHeaders.ContentSecurityPolicy, string.Join(",", answer.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("nosniff", string.Join(",", answer.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("DENY", string.Join(",", answer.Headers.GetValues("X-Frame-Options")));
    }

    private async Task<string> SecretAsync(ApiRole role, string? name = null) =>
        (await _web.App.Services.GetRequiredService<ApiTokens>().CreateAsync(name ?? $"s-{Guid.NewGuid():N}"[..20], role, CancellationToken.None)).Secret;

    private (HttpClient Client, CookieContainer Cookies) Browser()
    {
        var cookies = new CookieContainer();
        return (_web.Client(handler: new HttpClientHandler { CookieContainer = cookies, UseCookies = true }), cookies);
    }

    private async Task<(HttpClient Client, string Csrf)> AnonymousAsync()
    {
        var (client, _) = Browser();
        using var session = JsonDocument.Parse(await client.GetStringAsync("ui/session"));
        return (client, session.RootElement.GetProperty("csrf").GetString()!);
    }

    private async Task<(HttpClient Client, string Csrf)> SignedInAsync(ApiRole role)
    {
        var (client, csrf) = await AnonymousAsync();
        var answer = await SignInAsync(client, csrf, await SecretAsync(role));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        using var session = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        return (client, session.RootElement.GetProperty("csrf").GetString()!);
    }

    private static Task<HttpResponseMessage> SignInAsync(HttpClient client, string csrf, string token) =>
        client.PostAsync("ui/session", new FormUrlEncodedContent([new("token", token), new("__RequestVerificationToken", csrf)]));

    private static async Task<string> DetailAsync(HttpResponseMessage answer)
    {
        using var problem = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        return problem.RootElement.GetProperty("detail").GetString()!;
    }
}
