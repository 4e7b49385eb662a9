using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Playwright;
using MimeKit.Cryptography;
using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Keys;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Ui;

/// <summary>
/// The outbox page in Chromium on the real service with its send job (<c>rulemail run</c> with <c>http:</c>) and a real
/// SMTP server: failed, sent and held messages each show why; a message held because encryption is required and the
/// recipient has no certificate shows that reason, and once the certificate is imported Release sends it encrypted
/// while the page follows it to sent; a viewer sees the outbox but gets no Release, and the server refuses one.
/// </summary>
[Collection(BrowserTests.Name)]
public sealed class OutboxTests(Chromium chromium) : IAsyncLifetime
{
    private const string Account = "support";
    private const string Alice = "alice@customer.test";
    private const string Carol = "carol@both.test";
    private const string HeldReason = "cannot encrypt with S/MIME: The certificate for alice@customer.test was not found.";

    // The send job runs at start and when a message is queued or released; sending takes a moment more than a page does.
    private static readonly LocatorAssertionsToHaveTextOptions Sending = new() { Timeout = 30_000 };

    private readonly HostHarness _host = HostHarness.Create();
    private SmtpSink _sink = null!;
    private WebHarness _web = null!;
    private HttpClient _agent = null!;

    public async Task InitializeAsync()
    {
        _sink = await SmtpSink.StartAsync();

        // Alice's certificate is taken out of the test's copy of the store: encrypting to her is impossible until it is imported.
        var store = KeyStore.Open(_host.CopyKeyStore(), new KeyStoreOptions { Time = TimeProvider.System, Passphrase = new KeyStorePassphrase(HostHarness.SamplePassphrase) });
        store.Remove(store.Entries.Single(e => e.Kind == KeyKind.Smime && e.Addresses.Contains(Alice)).Fingerprint);
        _host.Accounts.Add(new AccountConfig
        {
            Name = Account,
            Address = "support@rulemail.test",

            // Hourly: after the run at start only a new or released message starts the send job within the test.
            Send = new SendConfig { Every = "1h", Outbox = _host.Folder.File("outbox"), Smtp = new ServerConfig { Host = _sink.Host, Port = _sink.Port, Security = "none" } },
        });
        _web = await WebHarness.StartAsync(_host, schedule: true);
        _agent = await _web.ClientAsync(ApiRole.Agent);
    }

    public async Task DisposeAsync()
    {
        await _web.DisposeAsync();
        await _sink.DisposeAsync();
        _host.Dispose();
    }

    [Fact]
    public async Task A_message_held_for_a_missing_certificate_shows_why_and_after_the_import_release_sends_it_encrypted()
    {
        _sink.FailNext(1, 554, "5.7.1 not now, not ever");
        await EnqueueAsync(Carol, "Refused once");
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Agent, "#/outbox");
        var page = ui.Page;

        // The page follows a queued message until the server has refused it for good.
        await Assertions.Expect(State(page, "Refused once")).ToHaveTextAsync("failed", Sending);
        await Assertions.Expect(Row(page, "Refused once").Locator(".reason")).ToContainTextAsync("554 5.7.1 not now, not ever");
        await Assertions.Expect(Row(page, "Refused once").GetByRole(AriaRole.Button, new() { Name = "Release" })).ToBeVisibleAsync();

        await EnqueueAsync(Carol, "Ticket #4711 solved");
        await EnqueueAsync(Alice, "Your contract", "X-RuleMail-Encrypt: yes");
        await _sink.WaitForAsync(1, TimeSpan.FromSeconds(30));
        await page.GetByRole(AriaRole.Button, new() { Name = "Refresh" }).ClickAsync();

        await Assertions.Expect(State(page, "Ticket #4711 solved")).ToHaveTextAsync("sent", Sending);
        await Assertions.Expect(Row(page, "Ticket #4711 solved").Locator(".reason")).ToHaveTextAsync("signed and encrypted with S/MIME");
        await Assertions.Expect(Row(page, "Ticket #4711 solved").GetByRole(AriaRole.Button)).ToHaveCountAsync(0);
        await Assertions.Expect(State(page, "Your contract")).ToHaveTextAsync("held", Sending);
        await Assertions.Expect(Row(page, "Your contract").Locator(".reason")).ToHaveTextAsync(HeldReason);
        await Assertions.Expect(Row(page, "Your contract")).ToContainTextAsync(Alice);
        await Chromium.ScreenshotAsync(page, "outbox");

        await page.GetByLabel("State", new() { Exact = true }).SelectOptionAsync(new SelectOptionValue { Label = "Held" });
        await Assertions.Expect(page.Locator("tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(State(page, "Your contract")).ToHaveTextAsync("held");
        Assert.EndsWith("#/outbox?state=held", page.Url, StringComparison.Ordinal);

        // The admin imports Alice's certificate over the API, as the Keys page does; then the agent releases the message.
        var admin = await _web.ClientAsync(ApiRole.Admin);
        using var upload = new MultipartFormDataContent
        {
            { new ByteArrayContent(File.ReadAllBytes(Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "source", "alice.crt"))), "file", "alice.crt" },
        };
        var imported = await admin.PostAsync("api/v1/keys", upload);
        Assert.True(imported.StatusCode == HttpStatusCode.Created, await imported.Content.ReadAsStringAsync());
        await Row(page, "Your contract").GetByRole(AriaRole.Button, new() { Name = "Release" }).ClickAsync();

        await Assertions.Expect(State(page, "Your contract")).ToHaveTextAsync("sent", Sending);
        await Assertions.Expect(Row(page, "Your contract").Locator(".reason")).ToHaveTextAsync("signed and encrypted with S/MIME");
        var received = (await _sink.WaitForAsync(2, TimeSpan.FromSeconds(30))).Single(m => m.Message.Subject == "Your contract");
        Assert.Equal([Alice], received.RcptTo);
        Assert.Equal(SecureMimeType.EnvelopedData, Assert.IsType<ApplicationPkcs7Mime>(received.Message.Body).SecureMimeType);
        Assert.DoesNotContain("Body of Your contract", Encoding.UTF8.GetString(received.Raw), StringComparison.Ordinal);
        Assert.Equal(2, _sink.Messages.Count);
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task A_viewer_sees_the_held_message_and_its_reason_but_no_release_and_the_server_refuses_one_from_the_page()
    {
        var id = await EnqueueAsync(Alice, "Your contract", "X-RuleMail-Encrypt: yes");
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Viewer, "#/outbox");

        await Assertions.Expect(State(ui.Page, "Your contract")).ToHaveTextAsync("held", Sending);
        await Assertions.Expect(Row(ui.Page, "Your contract").Locator(".reason")).ToHaveTextAsync(HeldReason);
        await Assertions.Expect(ui.Page.GetByRole(AriaRole.Button, new() { Name = "Release" })).ToHaveCountAsync(0);

        var (status, detail) = await InboxTests.PostFromPageAsync(ui.Page, $"/api/v1/outbox/{id}/release?account={Account}");

        Assert.Equal(403, status);
        Assert.Equal("the token's role (viewer) may not do this; it needs the role agent or above", detail);
        Assert.Empty(_sink.Messages);
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task An_empty_outbox_says_where_messages_come_from_and_an_empty_filter_says_so()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Agent, "#/outbox");

        await Assertions.Expect(ui.Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "The outbox is empty." }))
            .ToContainTextAsync("Messages sent from the Composer, posted to the API or dropped in an account’s outbox folder show here.");
        await ui.Page.GetByLabel("State", new() { Exact = true }).SelectOptionAsync(new SelectOptionValue { Label = "Held" });
        await Assertions.Expect(ui.Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "No message is held." })).ToBeVisibleAsync();
        Assert.Empty(ui.Problems);
    }

    /// <summary>Queues a plain message from the account to <paramref name="to"/> as a ticket system would; its outbox id.</summary>
    private async Task<string> EnqueueAsync(string to, string subject, string? header = null)
    {
        var raw = $"From: Support <support@rulemail.test>\r\nTo: {to}\r\nSubject: {subject}\r\n{(header is null ? "" : header + "\r\n")}"
            + $"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBody of {subject}.\r\n";
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(raw));
        content.Headers.ContentType = new MediaTypeHeaderValue("message/rfc822");
        var answer = await _agent.PostAsync($"api/v1/accounts/{Account}/outbox", content);
        var text = await answer.Content.ReadAsStringAsync();
        Assert.True(answer.StatusCode == HttpStatusCode.Accepted, text);
        return System.Text.Json.JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    private static ILocator Row(IPage page, string subject) => page.Locator("tbody tr").Filter(new() { HasText = subject });

    private static ILocator State(IPage page, string subject) => Row(page, subject).Locator("td").First;
}
