using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Ui;

/// <summary>
/// Signing in to the web UI in Chromium: a wrong token is refused on the form, a good one gives an HttpOnly,
/// SameSite=Strict session cookie (never the token) and the pages; signing out ends the session on the server too;
/// every answer carries the strict Content-Security-Policy and the page breaks none of its rules.
/// </summary>
[Collection(BrowserTests.Name)]
public sealed class SignInTests(Chromium chromium) : IAsyncLifetime
{
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
    public async Task A_wrong_token_is_refused_on_the_form_and_a_good_one_signs_in_with_a_strict_cookie_that_holds_no_token()
    {
        await using var ui = await UiPage.OpenAsync(chromium, _web);
        var page = ui.Page;
        await Chromium.ScreenshotAsync(page, "sign-in");

        await page.GetByLabel("API token").FillAsync("rmt_" + new string('A', 43));
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("the token is not known, or was revoked");

        var (_, secret) = await _web.App.Services.GetRequiredService<ApiTokens>().CreateAsync("helpdesk-anna", ApiRole.Agent, CancellationToken.None);
        await ui.SignInAsync(secret);
        await Assertions.Expect(page.Locator("#who")).ToContainTextAsync("helpdesk-anna");
        await Assertions.Expect(page.Locator("#who .badge")).ToHaveTextAsync("agent");
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Composer" })).ToHaveAttributeAsync("aria-current", "page");

        var session = (await ui.Context.CookiesAsync()).Single(c => c.Name == "rulemail.session");
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, session.SameSite);
        Assert.DoesNotContain(secret[4..], session.Value, StringComparison.Ordinal);
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task A_page_whose_code_arrives_after_another_page_was_chosen_does_not_draw_over_it()
    {
        // In CI the inbox vanished under a click: the composer route that signing in started twice finished after the
        // inbox's and cleared the page. Here the rules page's module is held until the keys page is drawn.
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Admin);
        var page = ui.Page;
        var held = new TaskCompletionSource();
        await page.RouteAsync("**/js/rules.js", async route =>
        {
            await held.Task;
            await route.ContinueAsync();
        });
        var requested = page.WaitForRequestAsync("**/js/rules.js");
        await page.EvaluateAsync("() => { location.hash = '#/rules'; }");
        await requested;
        await page.EvaluateAsync("() => { location.hash = '#/keys'; }");
        await Assertions.Expect(page.Locator("#main h1")).ToHaveTextAsync("Keys");

        held.SetResult();
        // The held route's import settles before this one's (it asked first), so after this the stale route has run.
        await page.EvaluateAsync("() => import('/js/rules.js').then(() => new Promise((resolve) => setTimeout(resolve, 0)))");

        await Assertions.Expect(page.Locator("#main h1")).ToHaveTextAsync("Keys");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Certificates and keys", Exact = true })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Keys" })).ToHaveAttributeAsync("aria-current", "page");
        Assert.Equal("Keys · RuleMail", await page.TitleAsync());
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task Signing_out_ends_the_session_so_its_cookie_no_longer_opens_the_API()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Admin);
        var cookie = (await ui.Context.CookiesAsync()).Single(c => c.Name == "rulemail.session");
        Assert.Equal(HttpStatusCode.OK, await StatusWithCookieAsync(cookie.Value));

        await ui.Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await ui.Page.GetByLabel("API token").WaitForAsync();

        Assert.DoesNotContain(await ui.Context.CookiesAsync(), c => c.Name == "rulemail.session");
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusWithCookieAsync(cookie.Value));
        Assert.Equal(401, (await ui.Page.APIRequest.GetAsync("/api/v1/keys")).Status);
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task A_revoked_token_ends_its_browser_sessions_at_the_next_request()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Agent);
        var tokens = _web.App.Services.GetRequiredService<ApiTokens>();
        var name = (await tokens.ListAsync(CancellationToken.None)).Single(t => t.Name.StartsWith("ui-Agent", StringComparison.Ordinal)).Name;

        await tokens.RevokeAsync(name, CancellationToken.None);

        Assert.Equal(401, (await ui.Page.APIRequest.GetAsync("/api/v1/outbox")).Status);
        await ui.Page.ReloadAsync();
        await ui.Page.GetByLabel("API token").WaitForAsync();
    }

    [Fact]
    public async Task Every_answer_carries_the_strict_content_security_policy_and_the_pages_break_none_of_it()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Admin);
        foreach (var path in new[] { "/", "/js/app.js", "/app.css", "/ui/session", "/api/v1/keys" })
        {
            var answer = await ui.Page.APIRequest.GetAsync(path);
            var csp = answer.Headers["content-security-policy"];
            Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
            Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
            Assert.Equal("nosniff", answer.Headers["x-content-type-options"]);
        }

        foreach (var hash in new[] { "#/composer", "#/inbox", "#/keys", "#/outbox", "#/rules" })
        {
            await ui.Page.GotoAsync($"/{hash}");
            await Assertions.Expect(ui.Page.Locator(".loading")).ToHaveCountAsync(0);
        }

        Assert.Empty(ui.Problems);
    }

    private async Task<HttpStatusCode> StatusWithCookieAsync(string value)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/v1/outbox");
        request.Headers.Add("Cookie", $"rulemail.session={value}");
        using var answer = await _web.Client().SendAsync(request);
        return answer.StatusCode;
    }
}
