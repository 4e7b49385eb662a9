using Microsoft.Playwright;
using Microsoft.Extensions.DependencyInjection;
using RuleMail.Host.State;

namespace RuleMail.Web.Tests.Support;

/// <summary>
/// A browser page on the running service (<see cref="WebHarness"/>), signed in through the sign-in form with a new
/// token of a role. Every console error and every failed request of the page is kept (<see cref="Problems"/>), so a
/// test can check that the page broke no Content-Security-Policy rule and loaded everything it asked for.
/// </summary>
internal sealed class UiPage : IAsyncDisposable
{
    private UiPage(IBrowserContext context, IPage page, WebHarness web)
    {
        Context = context;
        Page = page;
        Web = web;
        page.Console += (_, message) =>
        {
            // A refusal the page asked for and shows (a wrong token's 401, a role's 403) is logged by Chromium as a failed
            // load; a broken Content-Security-Policy rule or a script error is not one of those.
            if (message.Type == "error" && !message.Text.StartsWith("Failed to load resource: the server responded with a status of 4", StringComparison.Ordinal))
            {
                lock (Problems)
                {
                    Problems.Add($"console: {message.Text}");
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (Problems)
            {
                Problems.Add($"page error: {error}");
            }
        };
        page.RequestFailed += (_, request) =>
        {
            lock (Problems)
            {
                Problems.Add($"request failed: {request.Url} {request.Failure}");
            }
        };
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    public WebHarness Web { get; }

    /// <summary>Console errors (but the API's 4xx answers, which pages show), page errors and failed requests, in order.</summary>
    public List<string> Problems { get; } = [];

    /// <summary>A new page on the service's sign-in form (not signed in).</summary>
    public static async Task<UiPage> OpenAsync(Chromium chromium, WebHarness web)
    {
        var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = web.Address.ToString(),
            ViewportSize = new ViewportSize { Width = 1200, Height = 860 },
            AcceptDownloads = true,
        });
        context.SetDefaultTimeout(15_000);
        var page = await context.NewPageAsync();
        var ui = new UiPage(context, page, web);
        await page.GotoAsync("/");
        await page.GetByLabel("API token").WaitForAsync();
        return ui;
    }

    /// <summary>A new page signed in with a new token of <paramref name="role"/>, on <paramref name="hash"/> (e.g. <c>#/keys</c>).</summary>
    public static async Task<UiPage> SignedInAsync(Chromium chromium, WebHarness web, ApiRole role, string hash = "#/composer")
    {
        var ui = await OpenAsync(chromium, web);
        var (_, secret) = await web.App.Services.GetRequiredService<ApiTokens>().CreateAsync($"ui-{role}-{Guid.NewGuid():N}"[..24], role, CancellationToken.None);
        await ui.SignInAsync(secret);
        await ui.Page.GotoAsync($"/{hash}");
        await ui.Page.Locator("#nav a[aria-current=page]").WaitForAsync();
        return ui;
    }

    /// <summary>Types <paramref name="token"/> into the sign-in form and submits it; waits for the signed-in navigation.</summary>
    public async Task SignInAsync(string token)
    {
        await Page.GetByLabel("API token").FillAsync(token);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).WaitForAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Context.DisposeAsync();
    }
}
