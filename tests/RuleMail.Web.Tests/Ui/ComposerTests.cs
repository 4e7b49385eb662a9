using MimeKit;
using MimeKit.Cryptography;
using Microsoft.Playwright;
using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Ui;

/// <summary>
/// The composer in Chromium on the real service with the sample key store, the shipped rules and a real SMTP server:
/// the seed's Encrypt and Sign buttons (accessible names, <c>disabled</c>, the exact hover texts and advice, the
/// "Security type" switch) follow what the recipients typed, a rule's requirement shows, and Send puts the message
/// in the outbox from which it reaches the SMTP server encrypted.
/// </summary>
[Collection(BrowserTests.Name)]
public sealed class ComposerTests(Chromium chromium) : IAsyncLifetime
{
    private const string WillBeEncrypted = "This message will be encrypted.";
    private const string WillNotBeEncrypted = "This message will not be encrypted.";
    private const string WillBeSigned = "This message will be signed.";
    private const string AskForCertificate = "Ask your administrator to add the recipient's certificate to the key store.";
    private const string AskForPrivateKey = "Ask your administrator to verify your organization's private key in the key store.";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly HostHarness _host = HostHarness.Create();
    private SmtpSink _sink = null!;
    private WebHarness _web = null!;

    public async Task InitializeAsync()
    {
        _sink = await SmtpSink.StartAsync();
        var smtp = new ServerConfig { Host = _sink.Host, Port = _sink.Port, Security = "none" };
        _host.Accounts.Add(new AccountConfig
        {
            Name = "support",
            Address = "support@rulemail.test",
            Send = new SendConfig { Every = "1h", Outbox = _host.Folder.File("outbox"), Smtp = smtp },
        });
        _host.Accounts.Add(new AccountConfig
        {
            Name = "sales",
            Address = "sales@rulemail.test",
            Send = new SendConfig { Every = "1h", Outbox = _host.Folder.File("outbox-sales"), Smtp = smtp },
        });
        _host.AddRule("60-finance.yaml", """
            rules:
              - name: finance-requires-encryption
                on: outgoing
                when:
                  to.domain: finance.example
                then:
                  encrypt: required
            """);
        _web = await WebHarness.StartAsync(_host, schedule: true);
    }

    public async Task DisposeAsync()
    {
        await _web.DisposeAsync();
        await _sink.DisposeAsync();
        _host.Dispose();
    }

    [Fact]
    public async Task A_recipient_with_both_types_gets_both_buttons_on_the_seeds_hover_texts_and_the_security_type_switch()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Agent);
        var page = ui.Page;
        await page.GetByLabel("To", new() { Exact = true }).FillAsync("carol@both.test");
        await page.GetByLabel("Subject").FillAsync("Your contract");
        await page.GetByLabel("Text").FillAsync("Dear Carol,\n\nthe signed contract is attached to your ticket.\n");

        var encrypt = Encrypt(page);
        var sign = Sign(page);
        await Assertions.Expect(encrypt).ToBeEnabledAsync();
        await Assertions.Expect(encrypt).ToHaveAttributeAsync("title", WillBeEncrypted);
        await Assertions.Expect(encrypt).ToHaveAttributeAsync("aria-pressed", "true");
        await Assertions.Expect(sign).ToBeEnabledAsync();
        await Assertions.Expect(sign).ToHaveAttributeAsync("title", WillBeSigned);
        var type = page.GetByRole(AriaRole.Combobox, new() { Name = "Security type" });
        await Assertions.Expect(type).ToBeVisibleAsync();
        Assert.Equal(["S/MIME", "PGP"], await type.Locator("option").AllTextContentsAsync());
        await Assertions.Expect(type).ToHaveValueAsync("S/MIME");
        await Assertions.Expect(encrypt.Locator("img")).ToHaveAttributeAsync("src", "/icons/lock.svg");
        await Chromium.ScreenshotAsync(page, "composer");

        await type.SelectOptionAsync("PGP");
        await Assertions.Expect(type).ToHaveValueAsync("PGP");
        await Assertions.Expect(encrypt).ToBeEnabledAsync();
        await Assertions.Expect(encrypt).ToHaveAttributeAsync("title", WillBeEncrypted);

        await encrypt.ClickAsync();
        await Assertions.Expect(encrypt).ToHaveAttributeAsync("aria-pressed", "false");
        await Assertions.Expect(encrypt).ToHaveAttributeAsync("title", WillNotBeEncrypted);
        await Assertions.Expect(encrypt.Locator("img")).ToHaveAttributeAsync("src", "/icons/open-lock.svg");
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task A_recipient_without_a_key_disables_Encrypt_with_the_reason_and_the_seeds_advice_and_one_with_a_key_enables_it_again()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Agent);
        var to = ui.Page.GetByLabel("To", new() { Exact = true });
        await to.FillAsync("stranger@unknown.test");

        var encrypt = Encrypt(ui.Page);
        await Assertions.Expect(encrypt).ToBeDisabledAsync();
        await Assertions.Expect(encrypt).ToHaveAttributeAsync("title",
            $"{WillNotBeEncrypted} The certificate for stranger@unknown.test was not found. {AskForCertificate}");
        await Assertions.Expect(encrypt).ToHaveAttributeAsync("aria-pressed", "false");
        await Assertions.Expect(Sign(ui.Page)).ToBeEnabledAsync();

        await to.FillAsync("alice@customer.test");
        await Assertions.Expect(encrypt).ToBeEnabledAsync();
        await Assertions.Expect(encrypt).ToHaveAttributeAsync("title", WillBeEncrypted);
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task Two_recipients_disable_Encrypt_because_the_seed_encrypts_for_a_single_recipient_only()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Agent);
        await ui.Page.GetByLabel("To", new() { Exact = true }).FillAsync("alice@customer.test");
        await ui.Page.GetByLabel("Cc", new() { Exact = true }).FillAsync("carol@both.test");

        var encrypt = Encrypt(ui.Page);
        await Assertions.Expect(encrypt).ToBeDisabledAsync();
        await Assertions.Expect(encrypt).ToHaveAttributeAsync("title", $"{WillNotBeEncrypted} Outgoing emails can only be encrypted for a single recipient.");
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task A_sender_without_a_private_key_disables_Sign_with_the_seeds_advice()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Agent);
        await ui.Page.GetByLabel("From").SelectOptionAsync("sales@rulemail.test");
        await ui.Page.GetByLabel("To", new() { Exact = true }).FillAsync("alice@customer.test");

        var sign = Sign(ui.Page);
        await Assertions.Expect(sign).ToBeDisabledAsync();
        await Assertions.Expect(sign).ToHaveAttributeAsync("title", new System.Text.RegularExpressions.Regex(
            $"^This message will not be signed\\. .*sales@rulemail\\.test.* {System.Text.RegularExpressions.Regex.Escape(AskForPrivateKey)}$"));
        await Assertions.Expect(sign.Locator("img")).ToHaveAttributeAsync("src", "/icons/not-signed.svg");
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task A_rule_that_requires_encryption_is_shown_and_the_button_cannot_be_turned_off()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Agent);
        await ui.Page.GetByLabel("To", new() { Exact = true }).FillAsync("controller@finance.example");

        await Assertions.Expect(ui.Page.Locator("#encrypt-rule")).ToHaveTextAsync(
            new System.Text.RegularExpressions.Regex("^Required by the rule finance-requires-encryption \\(.*60-finance\\.yaml\\)$"));

        // Required but impossible (no key): disabled with the reason, never silently plaintext.
        await Assertions.Expect(Encrypt(ui.Page)).ToBeDisabledAsync();
        await Assertions.Expect(Encrypt(ui.Page)).ToHaveAttributeAsync("title", new System.Text.RegularExpressions.Regex($"^{WillNotBeEncrypted.Replace(".", "\\.", StringComparison.Ordinal)} .*{System.Text.RegularExpressions.Regex.Escape(AskForCertificate)}$"));
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task Send_queues_the_message_in_the_outbox_and_the_smtp_server_receives_it_encrypted_and_signed()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Agent);
        var page = ui.Page;
        await page.GetByLabel("To", new() { Exact = true }).FillAsync("alice@customer.test");
        await page.GetByLabel("Subject").FillAsync("Ticket #4711: your new password");
        await page.GetByLabel("Text").FillAsync("The secret reset code is 736912.");
        await Assertions.Expect(Encrypt(page)).ToHaveAttributeAsync("aria-pressed", "true");

        await page.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();

        await Assertions.Expect(page.Locator("#compose-result")).ToContainTextAsync("Queued in the outbox of support");
        var received = (await _sink.WaitForAsync(1, Deadline)).Single();
        Assert.Equal(["alice@customer.test"], received.RcptTo);
        Assert.Equal("Ticket #4711: your new password", received.Message.Subject);
        var body = Assert.IsType<ApplicationPkcs7Mime>(received.Message.Body);
        Assert.Equal(SecureMimeType.EnvelopedData, body.SecureMimeType);
        Assert.DoesNotContain("736912", System.Text.Encoding.UTF8.GetString(received.Raw), StringComparison.Ordinal);
        Assert.DoesNotContain(received.Message.Headers, h => h.Field.StartsWith("X-RuleMail-", StringComparison.OrdinalIgnoreCase));
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task Download_eml_returns_the_protected_message_as_compose_builds_it()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Agent);
        var page = ui.Page;
        await page.GetByLabel("To", new() { Exact = true }).FillAsync("bob@partner.test");
        await page.GetByLabel("Subject").FillAsync("Offer");
        await page.GetByLabel("Text").FillAsync("Our offer: 42.");
        await Assertions.Expect(Encrypt(page)).ToHaveAttributeAsync("title", WillBeEncrypted);

        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Download .eml" }).ClickAsync());

        Assert.Equal("Offer.eml", download.SuggestedFilename);
        var path = await download.PathAsync();
        var message = await MimeMessage.LoadAsync(path);
        Assert.IsType<MultipartEncrypted>(message.Body);
        Assert.DoesNotContain("Our offer: 42.", await File.ReadAllTextAsync(path), StringComparison.Ordinal);
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task A_viewer_sees_the_buttons_but_cannot_send_and_the_server_refuses_the_pages_own_request()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Viewer);
        await ui.Page.GetByLabel("To", new() { Exact = true }).FillAsync("alice@customer.test");
        await Assertions.Expect(Encrypt(ui.Page)).ToBeEnabledAsync();
        await Assertions.Expect(ui.Page.GetByRole(AriaRole.Button, new() { Name = "Send" })).ToBeDisabledAsync();

        var status = await ui.Page.EvaluateAsync<int>("""
            async () => {
              const session = await (await fetch('/ui/session')).json();
              const answer = await fetch('/api/v1/accounts/support/outbox', {
                method: 'POST',
                headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': session.csrf },
                body: JSON.stringify({ from: 'support@rulemail.test', to: ['alice@customer.test'], subject: 's', text: 't' }),
              });
              return answer.status;
            }
            """);
        Assert.Equal(403, status);
        Assert.Empty(Queued());
    }

    [Fact]
    public async Task A_session_request_that_changes_something_without_the_antiforgery_token_is_refused()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Admin);

        // What a page on another site could make the browser send: the cookie, but never the token.
        var answer = await ui.Page.EvaluateAsync<string>("""
            async () => {
              const answer = await fetch('/api/v1/accounts/support/outbox', {
                method: 'POST',
                headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ from: 'support@rulemail.test', to: ['alice@customer.test'], subject: 's', text: 't' }),
              });
              return `${answer.status} ${(await answer.json()).detail}`;
            }
            """);
        Assert.StartsWith("400 the antiforgery token is missing or does not match this session", answer, StringComparison.Ordinal);
        Assert.Empty(Queued());
    }

    private string[] Queued() => Directory.Exists(_host.Folder.File("outbox")) ? Directory.GetFiles(_host.Folder.File("outbox")) : [];

    private static ILocator Encrypt(IPage page) => page.GetByRole(AriaRole.Button, new() { Name = "Encrypt", Exact = true });

    private static ILocator Sign(IPage page) => page.GetByRole(AriaRole.Button, new() { Name = "Sign", Exact = true });
}
