using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Ui;

/// <summary>
/// The inbox page in Chromium on the real service, its ledger filled by a real fetch of the demo mailbox (one message
/// for every status the seed shows) with the shipped rules: each message shows the seed's icons with the seed's hover
/// text and the result's own comment, the status filter narrows the list, a row opens with the keyboard to its signer,
/// certificate, decision, actions and analyses, an admin's Retry judges the message again once the signer's
/// certificate is imported, and a viewer gets no Retry and is refused one by the server.
/// </summary>
[Collection(BrowserTests.Name)]
public sealed class InboxTests(Chromium chromium) : IAsyncLifetime
{
    // The seed's incoming hover texts, as the seed spells them (its apostrophe too).
    private const string Encrypted = "This message was encrypted for you.";
    private const string NotDecrypted = "This message can not be decrypted.";
    private const string Verified = "This message’s signature has been successfully verified.";
    private const string NotVerified = "The verification of the signature of this message has failed.";
    private const string Plain = "This message is neither signed nor encrypted.";

    private const string UnknownSigner = "smime-unknown-signer";
    private const string StrangerFingerprint = "C869FA81DEE63FC14D767993F8AAE786764F9F8DF9A3AEF81E0D5BE74BC40BAF";

    // Every demo message and the icons it must show, encryption first.
    private static readonly (string Demo, string[] Icons)[] DemoIcons =
    [
        ("plain", ["unsigned"]),
        ("smime-signed", ["signed"]),
        ("smime-tampered", ["not-signed"]),
        ("smime-not-sender", ["not-signed"]),
        ("smime-expired-signer", ["not-signed"]),
        ("smime-revoked-signer", ["not-signed"]),
        (UnknownSigner, ["not-signed"]),
        ("smime-signed-encrypted", ["lock", "signed"]),
        ("smime-encrypted-other", ["encryption-error"]),
        ("pgp-signed-encrypted", ["lock", "signed"]),
        ("pgp-clearsigned", ["signed"]),
        ("pgp-no-mdc", ["encryption-error"]),
        ("pgp-unknown-signer", ["not-signed"]),
    ];

    private static readonly Dictionary<string, string> SeedTexts = new(StringComparer.Ordinal)
    {
        ["lock"] = Encrypted,
        ["encryption-error"] = NotDecrypted,
        ["signed"] = Verified,
        ["not-signed"] = NotVerified,
        ["unsigned"] = Plain,
    };

    private readonly HostHarness _host = HostHarness.Create();
    private WebHarness _web = null!;

    public async Task InitializeAsync()
    {
        _host.CopyKeyStore();
        var maildir = _host.AddMaildirAccount();
        foreach (var file in Directory.GetFiles(Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "mailbox", "new")))
        {
            File.Copy(file, Path.Combine(maildir, "new", Path.GetFileName(file)));
        }

        var fetched = await _host.FetchOnceAsync();
        Assert.Null(fetched.Error);
        Assert.Equal(DemoIcons.Length, fetched.Messages.Count);
        _web = await WebHarness.StartAsync(_host);
    }

    public async Task DisposeAsync()
    {
        await _web.DisposeAsync();
        _host.Dispose();
    }

    [Fact]
    public async Task Every_demo_status_shows_the_seeds_icons_with_the_exact_hover_text_and_the_results_own_comment()
    {
        var stored = await StoredSecurityAsync();
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Viewer, "#/inbox");

        await Assertions.Expect(Messages(ui.Page)).ToHaveCountAsync(DemoIcons.Length);
        foreach (var (demo, icons) in DemoIcons)
        {
            var id = Id(demo);
            var images = Message(ui.Page, demo).Locator("tr.summary .security-icons img");
            await Assertions.Expect(images).ToHaveCountAsync(icons.Length);
            for (var i = 0; i < icons.Length; i++)
            {
                var part = icons[i] is "lock" or "encryption-error" ? "encryption" : "sign";
                var comment = icons[i] == "unsigned"
                    ? null
                    : $"{(part == "sign" ? "Sign" : "Encryption")}: {stored[id].GetProperty(part).GetProperty("comment").GetString()}";
                var title = comment is null ? SeedTexts[icons[i]] : $"{SeedTexts[icons[i]]}\n{comment}";
                await Assertions.Expect(images.Nth(i)).ToHaveAttributeAsync("src", $"/icons/{icons[i]}.svg");
                await Assertions.Expect(images.Nth(i)).ToHaveAttributeAsync("title", title);
                await Assertions.Expect(images.Nth(i)).ToHaveAttributeAsync("alt", title);
            }
        }

        // The seed's two fixed failure comments, to the letter.
        await Assertions.Expect(Icon(ui.Page, UnknownSigner, 0)).ToHaveAttributeAsync("title",
            "The verification of the signature of this message has failed.\nSign: Unable to find certificate for validation");
        await Assertions.Expect(Icon(ui.Page, "pgp-unknown-signer", 0)).ToHaveAttributeAsync("title",
            "The verification of the signature of this message has failed.\nSign: Unable to find certificate for validation");
        await Assertions.Expect(Icon(ui.Page, "smime-encrypted-other", 0)).ToHaveAttributeAsync("title",
            "This message can not be decrypted.\nEncryption: Unable to find private key to decrypt");
        await Assertions.Expect(Icon(ui.Page, "smime-signed", 0)).ToHaveAttributeAsync("title", new Regex(
            "^This message’s signature has been successfully verified\\.\nSign: Signed by alice@customer\\.test \\(certificate CN=alice@customer\\.test"));
        var row = Message(ui.Page, UnknownSigner).Locator("tr.summary");
        await Assertions.Expect(row).ToContainTextAsync("stranger@unknown.test");
        await Assertions.Expect(row).ToContainTextAsync("Urgent");
        await Assertions.Expect(row.Locator(".status")).ToContainTextAsync("security-failed");
        await Assertions.Expect(row.Locator(".status")).ToContainTextAsync("in Quarantine");
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task The_status_filter_shows_only_the_messages_of_that_status_and_stays_in_the_address()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Viewer, "#/inbox");
        var page = ui.Page;
        await Assertions.Expect(Messages(page)).ToHaveCountAsync(DemoIcons.Length);

        await Security(page).SelectOptionAsync(new SelectOptionValue { Label = "Signature verification failed" });

        await Assertions.Expect(Messages(page)).ToHaveCountAsync(6);
        await Assertions.Expect(Messages(page).Filter(new() { HasNot = page.Locator("img.icon-not-signed") })).ToHaveCountAsync(0);
        Assert.EndsWith("#/inbox?security=signature-failed", page.Url, StringComparison.Ordinal);

        // The filter survives a reload: the address holds it.
        await page.ReloadAsync();
        await Assertions.Expect(Security(page)).ToHaveValueAsync("signature-failed");
        await Assertions.Expect(Messages(page)).ToHaveCountAsync(6);

        await Security(page).SelectOptionAsync(new SelectOptionValue { Label = "Neither signed nor encrypted" });
        await Assertions.Expect(Messages(page)).ToHaveCountAsync(1);
        await Assertions.Expect(Message(page, "plain")).ToBeVisibleAsync();

        await Security(page).SelectOptionAsync(new SelectOptionValue { Label = "Can not be decrypted" });
        await Assertions.Expect(Messages(page)).ToHaveCountAsync(2);
        await Assertions.Expect(Messages(page).Filter(new() { HasNot = page.Locator("img.icon-encryption-error") })).ToHaveCountAsync(0);

        await Security(page).SelectOptionAsync(new SelectOptionValue { Label = "Signature or decryption failed" });
        await Assertions.Expect(Messages(page)).ToHaveCountAsync(8);

        // Both kinds of word must hold: nothing failed for good, and the page says how to see everything again.
        await page.GetByLabel("State", new() { Exact = true }).SelectOptionAsync(new SelectOptionValue { Label = "Failed" });
        await Assertions.Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "No message matches these filters." })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Show every message" }).ClickAsync();
        await Assertions.Expect(Messages(page)).ToHaveCountAsync(DemoIcons.Length);
        Assert.EndsWith("#/inbox", page.Url, StringComparison.Ordinal);
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task A_row_opens_with_the_keyboard_to_its_signer_certificate_decision_actions_and_analyses()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Agent, "#/inbox");
        var page = ui.Page;
        var stranger = Message(page, UnknownSigner);
        var toggle = stranger.GetByRole(AriaRole.Button, new() { Name = "Urgent", Exact = true });
        var details = stranger.Locator("tr.details");
        await Assertions.Expect(toggle).ToHaveAttributeAsync("aria-expanded", "false");
        await Assertions.Expect(details).ToBeHiddenAsync();

        await toggle.FocusAsync();
        await page.Keyboard.PressAsync("Enter");

        await Assertions.Expect(toggle).ToHaveAttributeAsync("aria-expanded", "true");
        await Assertions.Expect(details).ToBeVisibleAsync();
        await Assertions.Expect(Fact(details, "Signer")).ToHaveTextAsync("stranger@unknown.test");
        await Assertions.Expect(Fact(details, "Signer’s certificate")).ToHaveTextAsync(StrangerFingerprint);
        await Assertions.Expect(Fact(details, "Signing key")).ToHaveTextAsync("RSA 2048 bits");
        await Assertions.Expect(Fact(details, "Signature")).ToHaveTextAsync("failed: Unable to find certificate for validation");
        await Assertions.Expect(Fact(details, "Security type")).ToHaveTextAsync("S/MIME");
        await Assertions.Expect(Fact(details, "Now in")).ToHaveTextAsync("Quarantine");
        await Assertions.Expect(Fact(details, "Decision")).ToHaveTextAsync("flag: security-failed · move: Quarantine · tag: security-failed · stop");
        await Assertions.Expect(details.Locator("ul.actions").First.Locator("li")).ToHaveTextAsync([
            new Regex("^Set the keyword security-failed done "),
            new Regex("^Move to Quarantine done "),
        ]);
        await Assertions.Expect(details.Locator("ol.analyses > li")).ToHaveCountAsync(1);
        var analysis = details.Locator("ol.analyses > li").First;
        await Assertions.Expect(analysis).ToContainTextAsync("Analysis 1 · at fetch");
        await Assertions.Expect(analysis).ToContainTextAsync("security failed");
        await Assertions.Expect(analysis).ToContainTextAsync("Signature failed: Unable to find certificate for validation");
        await Assertions.Expect(details.Locator(".advice")).ToContainTextAsync("Ask your administrator to add the sender’s certificate to the certificate store.");
        await Assertions.Expect(details.Locator(".advice")).ToContainTextAsync("🕵️ ALWAYS verify certificates in-person or over the phone!");
        await Assertions.Expect(details.GetByRole(AriaRole.Button, new() { Name = "Retry" })).ToHaveCountAsync(0);
        await Assertions.Expect(toggle).ToBeFocusedAsync();
        await Chromium.ScreenshotAsync(page, "inbox");

        // A decrypted and verified message: its key and cipher, and nothing to do.
        var both = Message(page, "pgp-signed-encrypted");
        await both.GetByRole(AriaRole.Button, new() { Name = "Server logs" }).ClickAsync();
        await Assertions.Expect(Fact(both, "Signer’s key")).ToHaveTextAsync("EC754ADACA65EB4D507B8CBF828DEBAC6D6D0CAF");
        await Assertions.Expect(Fact(both, "Cipher")).ToHaveTextAsync("aes256, integrity mdc");
        await Assertions.Expect(Fact(both, "Decision")).ToHaveTextAsync("nothing: no rule decided anything for it");
        await Assertions.Expect(both.Locator("tr.details")).ToContainTextAsync("Nothing to do.");

        await toggle.FocusAsync();
        await page.Keyboard.PressAsync("Space");
        await Assertions.Expect(toggle).ToHaveAttributeAsync("aria-expanded", "false");
        await Assertions.Expect(details).ToBeHiddenAsync();
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task An_admins_retry_after_the_signers_certificate_was_imported_verifies_the_message_and_the_row_shows_it()
    {
        // The admin imports the stranger's certificate over the API, as the Keys page does.
        var admin = await _web.ClientAsync(ApiRole.Admin);
        using var upload = new MultipartFormDataContent
        {
            { new ByteArrayContent(File.ReadAllBytes(Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "source", "stranger.crt"))), "file", "stranger.crt" },
        };
        var imported = await admin.PostAsync("api/v1/keys", upload);
        Assert.True(imported.StatusCode == HttpStatusCode.Created, await imported.Content.ReadAsStringAsync());
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Admin, "#/inbox");
        var stranger = Message(ui.Page, UnknownSigner);
        await stranger.GetByRole(AriaRole.Button, new() { Name = "Urgent" }).ClickAsync();
        var retry = stranger.GetByRole(AriaRole.Button, new() { Name = "Retry" });

        await retry.ClickAsync();

        await Assertions.Expect(stranger.Locator(".retry-result")).ToHaveTextAsync(
            "Judged again: analysis 2 (was 1); unflag security-failed: done; move INBOX: done.");
        await Assertions.Expect(Icon(ui.Page, UnknownSigner, 0)).ToHaveAttributeAsync("src", "/icons/signed.svg");
        await Assertions.Expect(Icon(ui.Page, UnknownSigner, 0)).ToHaveAttributeAsync("title",
            new Regex("^" + Regex.Escape($"{Verified}\nSign: Signed by stranger@unknown.test")));
        await Assertions.Expect(stranger.Locator("tr.summary .status")).ToBeEmptyAsync();
        await Assertions.Expect(Fact(stranger, "Now in")).ToHaveTextAsync("INBOX");
        await Assertions.Expect(stranger.Locator("ol.analyses > li")).ToHaveCountAsync(2);
        await Assertions.Expect(stranger.Locator("ol.analyses > li").Nth(1)).ToContainTextAsync("Analysis 2 · judged again");
        await Assertions.Expect(stranger.Locator("ul.actions").First.Locator("li")).ToHaveTextAsync([
            new Regex("^Remove the keyword security-failed done "),
            new Regex("^Move to INBOX done "),
        ]);
        await Assertions.Expect(retry).ToBeFocusedAsync();
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task A_viewer_gets_no_retry_and_the_server_refuses_the_one_the_page_sends_with_the_viewers_session()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Viewer, "#/inbox");
        var stranger = Message(ui.Page, UnknownSigner);
        await stranger.GetByRole(AriaRole.Button, new() { Name = "Urgent" }).ClickAsync();
        await Assertions.Expect(stranger.Locator("ol.analyses > li")).ToHaveCountAsync(1);
        await Assertions.Expect(ui.Page.GetByRole(AriaRole.Button, new() { Name = "Retry" })).ToHaveCountAsync(0);

        var (status, detail) = await PostFromPageAsync(ui.Page, $"/api/v1/messages/{Id(UnknownSigner)}/retry");

        Assert.Equal(403, status);
        Assert.Equal("the token's role (viewer) may not do this; it needs the role admin or above", detail);
        await ui.Page.GetByRole(AriaRole.Button, new() { Name = "Refresh" }).ClickAsync();
        await Assertions.Expect(Icon(ui.Page, UnknownSigner, 0)).ToHaveAttributeAsync("src", "/icons/not-signed.svg");
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task An_inbox_with_nothing_processed_yet_says_where_messages_come_from()
    {
        using var host = HostHarness.Create();
        host.AddMaildirAccount();
        await using var web = await WebHarness.StartAsync(host);
        await using var ui = await UiPage.SignedInAsync(chromium, web, ApiRole.Viewer, "#/inbox");

        await Assertions.Expect(ui.Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "No message has been processed yet." }))
            .ToContainTextAsync("The fetch jobs of demo bring new mail here as rulemail run finds it; press Refresh to look again.");
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task When_the_service_does_not_answer_the_inbox_says_so_and_offers_to_try_again()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Viewer, "#/inbox");
        await Assertions.Expect(Messages(ui.Page)).ToHaveCountAsync(DemoIcons.Length);
        await _web.App.StopAsync();

        await ui.Page.GetByRole(AriaRole.Button, new() { Name = "Refresh" }).ClickAsync();

        var alert = ui.Page.GetByRole(AriaRole.Alert);
        await Assertions.Expect(alert).ToContainTextAsync("The inbox could not be loaded: Failed to fetch");
        await Assertions.Expect(alert.GetByRole(AriaRole.Button, new() { Name = "Try again" })).ToBeVisibleAsync();

        // The refused connection is all that went wrong: no script error, no broken policy. Requests other than the
        // inbox's may fail too (an icon the page was still loading when the service stopped), but only to the service.
        Assert.Contains(ui.Problems, p => p.StartsWith($"request failed: {_web.Address}api/v1/messages", StringComparison.Ordinal));
        Assert.All(ui.Problems, p => Assert.Matches(
            $"^(request failed: {Regex.Escape(_web.Address.ToString())}(api/v1/messages|icons/[a-z-]+\\.svg).*|console: Failed to load resource: net::ERR_CONNECTION_REFUSED)$", p));
    }

    /// <summary>
    /// A POST the page itself sends: its own api.js (the module the page loaded, so with the session's cookie and
    /// antiforgery token); the answer's status and the problem's detail.
    /// </summary>
    internal static async Task<(int Status, string? Detail)> PostFromPageAsync(IPage page, string path)
    {
        var answer = await page.EvaluateAsync<JsonElement>("""
            async (path) => {
              const { api } = await import('/js/api.js');
              try {
                await api(path, { method: 'POST' });
                return { status: 200, detail: null };
              } catch (e) {
                return { status: e.status, detail: e.message };
              }
            }
            """, path);
        return (answer.GetProperty("status").GetInt32(), answer.GetProperty("detail").GetString());
    }

    /// <summary>The ledger id of a demo message (its file name in the demo mailbox, fetched from INBOX).</summary>
    private static string Id(string demo) => LedgerId.Format("demo", "INBOX", Path.GetFileName(
        Directory.GetFiles(Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "mailbox", "new")).Single(f => f.EndsWith($".demo-{demo}", StringComparison.Ordinal))));

    private static ILocator Messages(IPage page) => page.Locator("tbody.message");

    private static ILocator Message(IPage page, string demo) => page.Locator($"tbody.message[data-id='{Id(demo)}']");

    private static ILocator Icon(IPage page, string demo, int index) => Message(page, demo).Locator("tr.summary .security-icons img").Nth(index);

    private static ILocator Security(IPage page) => page.GetByLabel("Security", new() { Exact = true });

    /// <summary>The value of a fact in an opened message's details (the dd after the dt of that name).</summary>
    private static ILocator Fact(ILocator message, string term) =>
        message.Locator($"xpath=.//dl[@class='facts']/dt[.=\"{term}\"]/following-sibling::dd[1]");

    /// <summary>Each message's stored security result, by ledger id, as the API lists it.</summary>
    private async Task<Dictionary<string, JsonElement>> StoredSecurityAsync()
    {
        var viewer = await _web.ClientAsync(ApiRole.Viewer);
        using var page = JsonDocument.Parse(await viewer.GetStringAsync("api/v1/messages?limit=500"));
        return page.RootElement.GetProperty("messages").EnumerateArray()
            .ToDictionary(m => m.GetProperty("id").GetString()!, m => m.GetProperty("security").Clone());
    }
}
