using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Ui;

/// <summary>
/// The rules page in Chromium on the real service with the shipped rules: the rules in force file by file with their
/// lint state (a file that stops loading shows each error at file:line:col while the rules in force stay), and a dry
/// run of a demo message — chosen as an .eml or pasted, incoming or outgoing — whose trace shows every rule's fate and
/// the merged decision. Viewers see the rules but get no dry run.
/// </summary>
[Collection(BrowserTests.Name)]
public sealed class RulesTests(Chromium chromium) : IAsyncLifetime
{
    private const string Quarantine = "quarantine-failed-security";
    private const string SignAndEncrypt = "sign-and-encrypt-when-possible";
    private const string QuarantineFile = "rules/00-quarantine-failed-security.yaml";
    private const string SignAndEncryptFile = "rules/50-sign-and-encrypt-when-possible.yaml";

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
    public async Task The_shipped_rules_are_ok_and_a_dry_run_of_a_tampered_demo_message_shows_why_it_goes_to_quarantine()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Agent, "#/rules");
        var page = ui.Page;
        await Assertions.Expect(page.Locator("#lint-state")).ToContainTextAsync("loads: 2 rules in 2 files, no problems.");
        await Assertions.Expect(page.Locator("table.rule-files tbody tr")).ToHaveCountAsync(2);
        await Assertions.Expect(FileRow(page, QuarantineFile)).ToContainTextAsync($"{Quarantine} incoming");
        await Assertions.Expect(FileRow(page, SignAndEncryptFile)).ToContainTextAsync($"{SignAndEncrypt} outgoing");
        foreach (var file in new[] { QuarantineFile, SignAndEncryptFile })
        {
            await Assertions.Expect(FileRow(page, file).Locator("td").Nth(2)).ToHaveTextAsync("ok");
        }

        await page.GetByLabel("or an .eml file").SetInputFilesAsync(new FilePayload
        {
            Name = "smime-tampered.eml", MimeType = "message/rfc822", Buffer = HostHarness.DemoMessage("smime-tampered"),
        });
        await Assertions.Expect(page.Locator("#dry-chosen")).ToContainTextAsync("Testing smime-tampered.eml as it is");
        await page.GetByRole(AriaRole.Button, new() { Name = "Run the rules" }).ClickAsync();

        var answer = page.Locator(".dry-answer");
        await Assertions.Expect(answer.Locator(".dry-security")).ToContainTextAsync("The signature does not match the content");
        var quarantine = Step(page, Quarantine);
        await Assertions.Expect(quarantine.Locator(".badge")).ToHaveTextAsync("matched");
        await Assertions.Expect(quarantine).ToContainTextAsync("because security.sign.success = false");
        await Assertions.Expect(Decided(quarantine, "Move to")).ToHaveTextAsync("Quarantine");
        var signAndEncrypt = Step(page, SignAndEncrypt);
        await Assertions.Expect(signAndEncrypt.Locator(".badge")).ToHaveTextAsync("not run");
        await Assertions.Expect(signAndEncrypt).ToContainTextAsync("outgoing mail only");
        var merged = page.Locator("#merged-decision");
        await Assertions.Expect(Decided(merged, "Flag")).ToHaveTextAsync("security-failed");
        await Assertions.Expect(Decided(merged, "Move to")).ToHaveTextAsync("Quarantine");
        await Assertions.Expect(Decided(merged, "Stop")).ToHaveTextAsync("yes: no later rule runs");
        await Chromium.ScreenshotAsync(page, "rules");
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task A_pasted_message_runs_through_the_outgoing_rules_when_outgoing_is_chosen()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Admin, "#/rules");
        var page = ui.Page;

        await page.GetByLabel("Message", new() { Exact = true }).FillAsync("""
            From: support@rulemail.test
            To: alice@customer.test
            Subject: Your ticket

            Solved.
            """);
        await page.GetByLabel("Outgoing").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Run the rules" }).ClickAsync();

        await Assertions.Expect(page.Locator(".dry-answer h3").First).ToHaveTextAsync("Trace (outgoing)");
        await Assertions.Expect(Step(page, SignAndEncrypt).Locator(".badge")).ToHaveTextAsync("matched");
        await Assertions.Expect(Step(page, SignAndEncrypt)).ToContainTextAsync("because no conditions (always)");
        await Assertions.Expect(Step(page, Quarantine)).ToContainTextAsync("incoming mail only");
        var merged = page.Locator("#merged-decision");
        await Assertions.Expect(merged.Locator("dt")).ToHaveTextAsync(["Sign", "Encrypt"]);
        await Assertions.Expect(Decided(merged, "Sign")).ToHaveTextAsync("preferred");
        await Assertions.Expect(Decided(merged, "Encrypt")).ToHaveTextAsync("preferred");
        await Assertions.Expect(page.Locator(".dry-security")).ToHaveCountAsync(0); // Nothing is protected in a dry run.
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task A_rule_file_that_stops_loading_shows_each_error_at_file_line_and_column_while_the_rules_in_force_stay()
    {
        _host.AddRule("70-broken.yaml", Api.RulesEndpointsTests.BrokenYaml); // After start: the service keeps the rules it loaded.
        var viewer = await _web.ClientAsync(ApiRole.Viewer);
        using var lint = JsonDocument.Parse(await (await viewer.PostAsync("api/v1/rules/lint", null)).Content.ReadAsStringAsync());
        var errors = lint.RootElement.GetProperty("errors").EnumerateArray().Select(e => string.Create(CultureInfo.InvariantCulture,
            $"{e.GetProperty("file").GetString()}:{e.GetProperty("line").GetInt32()}:{e.GetProperty("column").GetInt32()}: {e.GetProperty("message").GetString()}")).ToList();
        Assert.NotEmpty(errors);

        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Viewer, "#/rules");
        var page = ui.Page;

        var state = page.Locator("#lint-state");
        await Assertions.Expect(state).ToContainTextAsync("does not load");
        await Assertions.Expect(state).ToContainTextAsync("keeps judging mail by the rules in force");
        var broken = FileRow(page, "rules/70-broken.yaml");
        await Assertions.Expect(broken).ToContainTextAsync("not in force");
        await Assertions.Expect(broken.Locator(".lint-errors li")).ToHaveTextAsync(errors);
        await Assertions.Expect(FileRow(page, QuarantineFile).Locator("td").Nth(2)).ToHaveTextAsync("ok");
        await Assertions.Expect(page.Locator("#dry-run")).ToContainTextAsync("A dry run needs the role agent or admin; you are signed in as viewer.");
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Run the rules" })).ToHaveCountAsync(0);
        Assert.Empty(ui.Problems);
    }

    private static ILocator FileRow(IPage page, string file) => page.Locator($"table.rule-files tbody tr[data-file='{file}']");

    private static ILocator Step(IPage page, string rule) => page.Locator($"ol.trace-steps li[data-rule='{rule}']");

    /// <summary>The value a decision list gives for one of its keys (by the name the page shows).</summary>
    private static ILocator Decided(ILocator decision, string key) => decision.Locator($"dt:text-is('{key}') + dd");
}
