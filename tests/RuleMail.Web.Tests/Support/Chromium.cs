using Microsoft.Playwright;

namespace RuleMail.Web.Tests.Support;

/// <summary>
/// Debian's Chromium (<c>/usr/bin/chromium</c>, headless) driven by Playwright, one browser for every browser test
/// (<see cref="BrowserTests"/>); each test gets its own context (cookies, storage). Playwright never downloads a
/// browser here: a missing Chromium fails the test with the install line. The flags keep Chromium off the network
/// (no background requests, no component updates) so nothing but the page's own requests leaves it.
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("Chromium has not started");

    /// <summary>Where the tests' screenshots go: the test output's <c>screenshots</c> folder, and <c>docs/screenshots</c> with RULEMAIL_UPDATE_SCREENSHOTS=1.</summary>
    public static string ScreenshotFolder { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException($"{ExecutablePath} is needed by the web UI's browser tests but is not installed; install it (Debian: apt-get install chromium)");
        }

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
            ],
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }

    /// <summary>Saves a screenshot of <paramref name="page"/> as <paramref name="name"/>.png (see <see cref="ScreenshotFolder"/>).</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotFolder);
        var bytes = await page.ScreenshotAsync(new PageScreenshotOptions { FullPage = true, Path = Path.Combine(ScreenshotFolder, $"{name}.png") });
        if (Environment.GetEnvironmentVariable("RULEMAIL_UPDATE_SCREENSHOTS") == "1")
        {
            var docs = Path.Combine(Host.Tests.Support.HostHarness.RepositoryRoot, "docs", "screenshots");
            Directory.CreateDirectory(docs);
            await File.WriteAllBytesAsync(Path.Combine(docs, $"{name}.png"), bytes);
        }
    }
}

/// <summary>The browser tests share one Chromium and run one after another (two cores: a page at a time keeps them steady).</summary>
[CollectionDefinition(Name)]
public sealed class BrowserTests : ICollectionFixture<Chromium>
{
    public const string Name = "browser";
}
