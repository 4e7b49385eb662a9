using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Api;

/// <summary><c>POST /api/v1/check</c>: the same document as <c>rulemail check --json</c> for every demo message; the decrypted message only when it decrypted intact.</summary>
public sealed class CheckEndpointsTests(WebFixture service) : IClassFixture<WebFixture>, IAsyncLifetime
{
    private HttpClient _client = null!;

    public static TheoryData<string> DemoMessages { get; } = new(
        "plain", "smime-signed", "smime-tampered", "smime-not-sender", "smime-expired-signer", "smime-revoked-signer",
        "smime-unknown-signer", "smime-signed-encrypted", "smime-encrypted-other", "pgp-signed-encrypted",
        "pgp-clearsigned", "pgp-no-mdc", "pgp-unknown-signer");

    public async Task InitializeAsync() => _client = await service.Web.ClientAsync(ApiRole.Agent);

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [MemberData(nameof(DemoMessages))]
    public async Task The_api_answers_what_check_json_prints(string demo)
    {
        var raw = HostHarness.DemoMessage(demo);
        var response = await PostAsync("api/v1/check?account=support@rulemail.test", raw);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var file = service.Host.Folder.File($"{demo}.eml");
        await File.WriteAllBytesAsync(file, raw);
        var cli = service.Web.Cli("check", file, "--json", "--account", "support@rulemail.test");
        Assert.True(cli.ExitCode == 0, cli.Error);

        var api = JsonNode.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(cli.Output), api), $"API: {api}\nCLI: {cli.Output}");
        Assert.False(api!.AsObject().ContainsKey("mime"));
    }

    [Theory]
    [InlineData("smime-signed-encrypted")]
    [InlineData("pgp-signed-encrypted")]
    public async Task Out_mime_adds_the_decrypted_message(string demo)
    {
        var response = await PostAsync("api/v1/check?out=mime", HostHarness.DemoMessage(demo));

        var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(document.GetProperty("security").GetProperty("encryption").GetProperty("success").GetBoolean());
        var decrypted = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(document.GetProperty("mime").GetString()!));
        Assert.Contains("Content-Type: text/plain", decrypted, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("-----BEGIN PGP MESSAGE-----", decrypted, StringComparison.Ordinal);
        Assert.DoesNotContain("application/pkcs7-mime", decrypted, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("pgp-no-mdc")]
    [InlineData("smime-encrypted-other")]
    [InlineData("smime-signed")]
    [InlineData("plain")]
    public async Task Out_mime_hands_out_nothing_that_did_not_decrypt_intact(string demo)
    {
        var response = await PostAsync("api/v1/check?out=mime", HostHarness.DemoMessage(demo));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.False(document.TryGetProperty("mime", out _));
    }

    /// <summary>
    /// Real openssl, to the sample's support@ certificate, not signed. CBC decrypts, but its plaintext could have been
    /// changed on the way unnoticed (EFAIL), so it is not handed out — the judgement a webhook makes; GCM's is.
    /// </summary>
    [Theory]
    [InlineData("smime", "-aes256", "none", false)]
    [InlineData("cms", "-aes-256-gcm", "aead", true)]
    public async Task Out_mime_hands_out_an_unsigned_message_only_when_its_encryption_protects_its_integrity(
        string command, string cipher, string integrity, bool handedOut)
    {
        using var work = new RuleMail.Core.Tests.Support.TempDirectory("check-unsigned");
        await File.WriteAllTextAsync(work.File("body.txt"), "Content-Type: text/plain\r\n\r\nHello, marker 7c1e\r\n");
        var certificate = Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "source", "support.crt");
        RuleMail.Core.Tests.Support.ExternalTool.Run("openssl", [command, "-encrypt", cipher, "-in", "body.txt", "-out", "encrypted.txt", certificate],
            new RuleMail.Core.Tests.Support.ToolOptions { WorkingDirectory = work.Path });
        var message = "From: alice@customer.test\r\nTo: support@rulemail.test\r\nSubject: unsigned\r\n"u8.ToArray().Concat(work.Read("encrypted.txt")).ToArray();

        var response = await PostAsync("api/v1/check?out=mime", message);

        var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var security = document.GetProperty("security");
        Assert.True(security.GetProperty("encryption").GetProperty("success").GetBoolean(), security.GetRawText());
        Assert.Equal(integrity, security.GetProperty("encryption").GetProperty("integrity").GetString());
        Assert.Equal(JsonValueKind.Null, security.GetProperty("sign").ValueKind);
        Assert.Equal(handedOut, document.TryGetProperty("mime", out var mime));
        if (handedOut)
        {
            Assert.Contains("marker 7c1e", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(mime.GetString()!)), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_body_that_is_not_a_message_type_is_refused_with_415()
    {
        using var content = new ByteArrayContent(HostHarness.DemoMessage("plain"));
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        var response = await _client.PostAsync("api/v1/check", content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        var detail = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString();
        Assert.Equal("send the message as Content-Type: message/rfc822, not text/plain", detail);
    }

    [Fact]
    public async Task An_empty_body_is_a_400()
    {
        var response = await PostAsync("api/v1/check", []);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Bytes_that_are_no_mail_get_a_result_not_an_error()
    {
        var response = await PostAsync("api/v1/check", [0, 1, 2, 0xff, 0xfe, (byte)'\n', 0]);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.TryGetProperty("security", out _));
    }

    [Fact]
    public async Task An_unknown_out_is_a_400()
    {
        var response = await PostAsync("api/v1/check?out=html", HostHarness.DemoMessage("plain"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("out must be mime", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private async Task<HttpResponseMessage> PostAsync(string path, byte[] message)
    {
        using var content = new ByteArrayContent(message);
        content.Headers.ContentType = new MediaTypeHeaderValue("message/rfc822");
        return await _client.PostAsync(path, content);
    }
}
