using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using RuleMail.Core.Tests.Support;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Ui;

/// <summary>
/// The keys page in Chromium on the real service, on a copy of the sample key store: every entry with its status
/// badges and its fingerprint in blocks of four; an admin's upload (dropped or chosen) shows each fingerprint with the
/// seed's warning and is used by the composer at once; a refused upload shows the server's line and imports nothing;
/// removal asks first; viewers and agents get the list only, and the server refuses what the page leaves out.
/// </summary>
[Collection(BrowserTests.Name)]
public sealed class KeysTests(Chromium chromium) : IAsyncLifetime
{
    private const string Alice = "EE98308EDE39F275262F102CC339CB6B04E4DB5A0D8C2465CBCE88D1C209D455";
    private const string SupportSmime = "D0E605322B27305DC5E5F98499A4FDDA8A799C704C3E9E8D5CE143C98D9B955A";
    private const string SupportPgp = "4CE654079CED8BC062DE3E3C04608BF10A4F27A2";
    private const string Warning = "🕵️ ALWAYS verify certificates in-person or over the phone!";
    private const int SampleEntries = 10;

    private readonly HostHarness _host = HostHarness.Create();
    private WebHarness _web = null!;

    public async Task InitializeAsync()
    {
        _host.CopyKeyStore();
        _host.AddMaildirAccount(); // The composer writes from its address.
        _web = await WebHarness.StartAsync(_host);
    }

    public async Task DisposeAsync()
    {
        await _web.DisposeAsync();
        _host.Dispose();
    }

    [Fact]
    public async Task Every_entry_of_the_sample_is_listed_with_its_status_badge_private_key_and_fingerprint_in_blocks_of_four()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Admin, "#/keys");
        var page = ui.Page;

        await Assertions.Expect(Rows(page)).ToHaveCountAsync(SampleEntries);
        await Assertions.Expect(Cell(Row(page, "dave@expired.test"), Column.Status)).ToHaveTextAsync("expired");
        await Assertions.Expect(Cell(Row(page, "erin@revoked.test"), Column.Status)).ToHaveTextAsync("revoked");
        await Assertions.Expect(Cell(Row(page, "alice@customer.test"), Column.Status)).ToHaveTextAsync("valid");
        await Assertions.Expect(Cell(Row(page, "alice@customer.test"), Column.Usages)).ToHaveTextAsync("sign encrypt");
        await Assertions.Expect(Cell(Row(page, "alice@customer.test"), Column.PrivateKey)).ToHaveTextAsync("no");
        await Assertions.Expect(Cell(ByFingerprint(page, SupportSmime), Column.PrivateKey)).ToHaveTextAsync("held");
        await Assertions.Expect(Cell(ByFingerprint(page, Alice), Column.Fingerprint))
            .ToHaveTextAsync("EE98 308E DE39 F275 262F 102C C339 CB6B 04E4 DB5A 0D8C 2465 CBCE 88D1 C209 D455");
        await Assertions.Expect(Cell(ByFingerprint(page, SupportPgp), Column.Fingerprint))
            .ToHaveTextAsync("4CE6 5407 9CED 8BC0 62DE 3E3C 0460 8BF1 0A4F 27A2");
        await Assertions.Expect(page.Locator(".expiry-warning")).ToHaveCountAsync(0); // The sample's keys last ten years.
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task A_download_is_the_public_part_only_even_of_an_entry_whose_private_key_is_held()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Viewer, "#/keys");

        var certificate = await DownloadAsync(ui.Page, SupportSmime);
        var pgp = await DownloadAsync(ui.Page, SupportPgp);

        Assert.Equal($"{SupportSmime}.crt", certificate.Name);
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", certificate.Text, StringComparison.Ordinal);
        Assert.Equal(SupportSmime, Convert.ToHexString(SHA256.HashData(X509Certificate2.CreateFromPem(certificate.Text).RawData)));
        Assert.Equal($"{SupportPgp}.asc", pgp.Name);
        Assert.StartsWith("-----BEGIN PGP PUBLIC KEY BLOCK-----", pgp.Text, StringComparison.Ordinal);
        Assert.All(new[] { certificate.Text, pgp.Text }, text => Assert.DoesNotContain("PRIVATE", text, StringComparison.Ordinal));
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task A_certificate_dropped_and_imported_shows_its_fingerprint_and_the_warning_and_the_composer_encrypts_to_it_at_once()
    {
        const string Nora = "nora@new-customer.test";
        using var ca = new CertificateAuthority();
        var now = TimeProvider.System.GetUtcNow();
        using var certificate = ca.Issue("CN=Nora New, O=New Customer", now.AddDays(-1), now.AddDays(20), [Nora]);
        var fingerprint = Convert.ToHexString(SHA256.HashData(certificate.RawData));
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Admin, "#/composer");
        var page = ui.Page;
        var encrypt = page.GetByRole(AriaRole.Button, new() { Name = "Encrypt", Exact = true });
        await page.GetByLabel("To", new() { Exact = true }).FillAsync(Nora);
        await Assertions.Expect(encrypt).ToHaveAttributeAsync("title", new Regex($"{Regex.Escape(Nora)} was not found"));
        await Assertions.Expect(encrypt).ToBeDisabledAsync();

        await page.GotoAsync("/#/keys");
        await DropAsync(page, "nora.crt", certificate.ExportCertificatePem());
        await Assertions.Expect(page.Locator("#pending-files")).ToContainTextAsync("nora.crt");
        await page.GetByRole(AriaRole.Button, new() { Name = "Import" }).ClickAsync();

        var result = page.Locator("#upload-result");
        await Assertions.Expect(result).ToContainTextAsync(Warning);
        await Assertions.Expect(result).ToContainTextAsync($"added S/MIME {Nora} from nora.crt");
        await Assertions.Expect(result.Locator(".fingerprint")).ToHaveTextAsync(Grouped(fingerprint));
        await Assertions.Expect(Rows(page)).ToHaveCountAsync(SampleEntries + 1);
        var row = ByFingerprint(page, fingerprint);
        await Assertions.Expect(row).ToHaveClassAsync(new Regex(@"\bjust-imported\b"));
        await Assertions.Expect(Cell(row, Column.Addresses)).ToContainTextAsync(Nora);
        await Assertions.Expect(Cell(row, Column.Expires)).ToContainTextAsync(new Regex(@"expires in (19|20) days"));
        await Assertions.Expect(page.Locator("#pending-files li")).ToHaveCountAsync(0);
        await Chromium.ScreenshotAsync(page, "keys");

        await page.GotoAsync("/#/composer");
        await page.GetByLabel("To", new() { Exact = true }).FillAsync(Nora);
        await Assertions.Expect(encrypt).ToBeEnabledAsync();
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task A_refused_upload_shows_the_servers_line_and_imports_nothing_until_the_passphrase_is_given()
    {
        using var ca = new CertificateAuthority();
        var now = TimeProvider.System.GetUtcNow();
        using var certificate = ca.Issue("CN=Pat Upload", now.AddDays(-1), now.AddYears(1), ["pat@upload.test"]);
        using var withKey = certificate.CopyWithPrivateKey(ca.LeafKey);
        var passphrase = $"ui-secret-{Guid.NewGuid():N}";
        var pfx = withKey.ExportPkcs12(Pkcs12ExportPbeParameters.Pbes2Aes256Sha256, passphrase);
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Admin, "#/keys");
        var page = ui.Page;
        await Assertions.Expect(Rows(page)).ToHaveCountAsync(SampleEntries);

        await page.Locator("#key-files").SetInputFilesAsync(new FilePayload { Name = "pat.p12", MimeType = "application/x-pkcs12", Buffer = pfx });
        await page.GetByRole(AriaRole.Button, new() { Name = "Import" }).ClickAsync();

        await Assertions.Expect(page.Locator("#upload-result").GetByRole(AriaRole.Alert))
            .ToContainTextAsync("pat.p12: the PKCS#12 file is protected: give its passphrase in the passphrase field");
        await Assertions.Expect(page.Locator("#pending-files")).ToContainTextAsync("pat.p12"); // Kept, to send again.
        await Assertions.Expect(Rows(page)).ToHaveCountAsync(SampleEntries);

        await page.GetByLabel("Passphrase").FillAsync(passphrase);
        await page.GetByRole(AriaRole.Button, new() { Name = "Import" }).ClickAsync();

        await Assertions.Expect(page.Locator("#upload-result")).ToContainTextAsync("with its private key (encrypted at rest)");
        await Assertions.Expect(Rows(page)).ToHaveCountAsync(SampleEntries + 1);
        await Assertions.Expect(Cell(Row(page, "pat@upload.test"), Column.PrivateKey)).ToHaveTextAsync("held");
        await Assertions.Expect(page.GetByLabel("Passphrase")).ToHaveValueAsync(string.Empty);
        Assert.DoesNotContain(passphrase, _web.Logs.All, StringComparison.Ordinal);
        Assert.Empty(ui.Problems);
    }

    [Fact]
    public async Task Removing_asks_first_in_a_dialog_that_names_the_key_and_its_private_key_then_the_entry_is_gone()
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, ApiRole.Admin, "#/keys");
        var page = ui.Page;
        var dialog = page.GetByRole(AriaRole.Dialog);

        await Row(page, SupportSmime).GetByRole(AriaRole.Button, new() { Name = "Remove" }).ClickAsync();
        await Assertions.Expect(dialog).ToBeVisibleAsync();
        await Assertions.Expect(dialog).ToContainTextAsync("Remove the S/MIME certificate of support@rulemail.test from the key store?");
        await Assertions.Expect(dialog).ToContainTextAsync("Its private key is removed too");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await Assertions.Expect(dialog).ToBeHiddenAsync();
        await Assertions.Expect(Rows(page)).ToHaveCountAsync(SampleEntries);

        await Row(page, "alice@customer.test").GetByRole(AriaRole.Button, new() { Name = "Remove" }).ClickAsync();
        await Assertions.Expect(dialog).ToContainTextAsync("Remove the S/MIME certificate of alice@customer.test from the key store?");
        await Assertions.Expect(dialog).ToContainTextAsync(Grouped(Alice));
        await Assertions.Expect(dialog).Not.ToContainTextAsync("private key");
        Assert.Contains(Alice, await KeyListAsync(), StringComparison.Ordinal); // Nothing happened before the confirmation.
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Remove" }).ClickAsync();

        await Assertions.Expect(dialog).ToBeHiddenAsync();
        await Assertions.Expect(Rows(page)).ToHaveCountAsync(SampleEntries - 1);
        await Assertions.Expect(ByFingerprint(page, Alice)).ToHaveCountAsync(0);
        Assert.DoesNotContain(Alice, await KeyListAsync(), StringComparison.Ordinal);
        Assert.Contains(SupportSmime, await KeyListAsync(), StringComparison.Ordinal);
        Assert.Empty(ui.Problems);
    }

    [Theory]
    [InlineData(ApiRole.Viewer)]
    [InlineData(ApiRole.Agent)]
    public async Task Below_admin_the_page_lists_without_upload_or_remove_and_the_server_refuses_an_upload_from_the_page(ApiRole role)
    {
        await using var ui = await UiPage.SignedInAsync(chromium, _web, role, "#/keys");
        var page = ui.Page;
        await Assertions.Expect(Rows(page)).ToHaveCountAsync(SampleEntries);
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Download" })).ToHaveCountAsync(SampleEntries);
        await Assertions.Expect(page.Locator("#dropzone")).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Remove" })).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByText("Only an administrator adds or removes certificates and keys.")).ToBeVisibleAsync();

        // What the page leaves out, asked for anyway with the page's own session and antiforgery token.
        var stranger = await File.ReadAllTextAsync(Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "source", "stranger.crt"));
        var answer = await page.EvaluateAsync<JsonElement>("""
            async (pem) => {
              const { api } = await import('/js/api.js');
              const body = new FormData();
              body.append('file', new Blob([pem]), 'stranger.crt');
              try {
                await api('/api/v1/keys', { method: 'POST', body });
                return { status: 201, message: '' };
              } catch (e) {
                return { status: e.status, message: e.message };
              }
            }
            """, stranger);

        Assert.Equal(403, answer.GetProperty("status").GetInt32());
        Assert.Contains("it needs the role admin", answer.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("stranger@unknown.test", await KeyListAsync(), StringComparison.Ordinal);
        Assert.Empty(ui.Problems);
    }

    private enum Column
    {
        Kind,
        Addresses,
        Status,
        Usages,
        PrivateKey,
        Expires,
        Fingerprint,
    }

    private static ILocator Rows(IPage page) => page.Locator("table.keys tbody tr");

    private static ILocator Row(IPage page, string addressOrFingerprint) =>
        addressOrFingerprint.All(char.IsAsciiHexDigitUpper) ? ByFingerprint(page, addressOrFingerprint) : Rows(page).Filter(new() { HasText = addressOrFingerprint });

    private static ILocator ByFingerprint(IPage page, string fingerprint) => page.Locator($"table.keys tbody tr[data-fingerprint='{fingerprint}']");

    private static ILocator Cell(ILocator row, Column column) => row.Locator("td").Nth((int)column);

    private static string Grouped(string fingerprint) => string.Join(' ', fingerprint.Chunk(4).Select(c => new string(c)));

    /// <summary>Drops a file on the drop zone as a browser does: a drop event whose DataTransfer holds it.</summary>
    private static async Task DropAsync(IPage page, string name, string content)
    {
        var dataTransfer = await page.EvaluateHandleAsync("""
            ([name, content]) => {
              const transfer = new DataTransfer();
              transfer.items.add(new File([content], name, { type: 'application/x-pem-file' }));
              return transfer;
            }
            """, new[] { name, content });
        var zone = page.Locator("#dropzone");
        await zone.DispatchEventAsync("dragenter", new Dictionary<string, object> { ["dataTransfer"] = dataTransfer });
        await Assertions.Expect(zone).ToHaveClassAsync(new Regex(@"\bover\b"));
        await zone.DispatchEventAsync("drop", new Dictionary<string, object> { ["dataTransfer"] = dataTransfer });
    }

    private static async Task<(string Name, string Text)> DownloadAsync(IPage page, string fingerprint)
    {
        var download = await page.RunAndWaitForDownloadAsync(() =>
            ByFingerprint(page, fingerprint).GetByRole(AriaRole.Link, new() { Name = "Download" }).ClickAsync());
        return (download.SuggestedFilename, await File.ReadAllTextAsync(await download.PathAsync()));
    }

    private async Task<string> KeyListAsync() => await (await _web.ClientAsync(ApiRole.Viewer)).GetStringAsync("api/v1/keys");
}
