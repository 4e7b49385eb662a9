using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MimeKit;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Processing;

/// <summary>
/// Signed webhooks with content, end to end through a Maildir account and a real loopback receiver: the signature is
/// checked here the way a receiver would (HMAC-SHA256 over the received body); the decrypted content arrives only
/// for a message whose integrity held; a missing secret sends nothing and is retried; a retry sends the same bytes
/// under the same signature; the secret is never stored. Each fetch runs to the end of its webhooks, so the tests
/// wait for the run and then for the listener, never for time.
/// </summary>
public sealed class WebhookSignatureTests : IAsyncLifetime
{
    private const string Variable = "TICKETS_WEBHOOK_SECRET";
    private const string Secret = "s3cret-wébhook-key"; // Not ASCII: the key is the value's UTF-8 bytes.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly HostHarness _harness = HostHarness.Create();
    private WebhookListener _webhook = null!;

    public Task InitializeAsync()
    {
        _webhook = WebhookListener.Start();
        _harness.AddMaildirAccount();
        _harness.AddRule("0-webhook.yaml", $"""
            rules:
              - name: tell-the-ticket-system
                on: incoming
                then:
                  webhook: {"{"}url: {_webhook.Url}hook, secret_env: {Variable}, include: [text, html, mime]{"}"}
            """);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _webhook.DisposeAsync();
        _harness.Dispose();
    }

    [Fact]
    public async Task A_signed_webhook_carries_the_hmac_of_its_exact_body_and_the_decrypted_content()
    {
        _harness.Environment[Variable] = Secret;
        Deliver("smime-signed-encrypted");

        var report = await _harness.FetchOnceAsync();

        Assert.Equal(MessageState.Done, Assert.Single(report.Messages).State);
        var request = Assert.Single(await _webhook.WaitForAcknowledgedAsync(1, Patience));
        Assert.Equal(Expected(request.Body), request.Header("X-RuleMail-Signature"));
        Assert.Equal("application/json; charset=utf-8", request.Header("Content-Type"));
        using var body = JsonDocument.Parse(request.Body);
        var root = body.RootElement;
        Assert.Equal(request.IdempotencyKey, root.GetProperty("idempotency_key").GetString());
        Assert.Equal("decrypted", root.GetProperty("content").GetString());
        Assert.Contains("The contract is attached, signed and sealed.", root.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.False(root.TryGetProperty("html", out _)); // The message has no HTML body.
        var mime = MimeMessage.Load(new MemoryStream(Convert.FromBase64String(root.GetProperty("mime").GetString()!)));
        Assert.Contains("The contract is attached, signed and sealed.", mime.TextBody, StringComparison.Ordinal);
        Assert.Null(mime.Headers["X-RuleMail-Encrypt"]);
        AssertStateHoldsNoSecret();
    }

    [Fact]
    public async Task A_changed_body_or_another_secret_does_not_verify()
    {
        _harness.Environment[Variable] = Secret;
        Deliver("plain");

        await _harness.FetchOnceAsync();

        var request = Assert.Single(await _webhook.WaitForAcknowledgedAsync(1, Patience));
        Assert.Equal(Expected(request.Body), request.Header("X-RuleMail-Signature"));
        Assert.NotEqual(Expected(request.Body.Replace("\"received\"", "\"decrypted\"", StringComparison.Ordinal)), request.Header("X-RuleMail-Signature"));
        Assert.NotEqual(Expected(request.Body, "another secret"), request.Header("X-RuleMail-Signature"));
    }

    [Theory]
    [InlineData("pgp-no-mdc", "Old client, no integrity protection.", "multipart/encrypted")]
    [InlineData("smime-encrypted-other", null, "application/pkcs7-mime")]
    public async Task A_message_that_failed_decryption_or_its_integrity_check_sends_no_plaintext(string demo, string? plaintext, string received)
    {
        _harness.Environment[Variable] = Secret;
        Deliver(demo);

        await _harness.FetchOnceAsync();

        var request = Assert.Single(await _webhook.WaitForAcknowledgedAsync(1, Patience));
        Assert.Equal(Expected(request.Body), request.Header("X-RuleMail-Signature"));
        using var body = JsonDocument.Parse(request.Body);
        var root = body.RootElement;
        Assert.False(root.GetProperty("security").GetProperty("encryption").GetProperty("success").GetBoolean());
        Assert.Equal("withheld", root.GetProperty("content").GetString());
        Assert.False(root.TryGetProperty("text", out _));
        Assert.False(root.TryGetProperty("html", out _));
        var mime = MimeMessage.Load(new MemoryStream(Convert.FromBase64String(root.GetProperty("mime").GetString()!)));
        Assert.Equal(received, mime.Body!.ContentType.MimeType.Replace("x-", "", StringComparison.Ordinal));
        if (plaintext is not null)
        {
            Assert.DoesNotContain(plaintext, request.Body, StringComparison.Ordinal);
            Assert.DoesNotContain(plaintext, Encoding.UTF8.GetString(Convert.FromBase64String(root.GetProperty("mime").GetString()!)), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public async Task A_missing_secret_sends_nothing_is_reported_and_is_sent_signed_once_it_is_set(string? value)
    {
        if (value is not null)
        {
            _harness.Environment[Variable] = value;
        }

        Deliver("plain");

        var first = await _harness.FetchOnceAsync();

        var waiting = Assert.Single(first.Messages);
        Assert.Equal(MessageState.Retry, waiting.State);
        Assert.Contains(waiting.Actions, a => a.StartsWith("webhook ", StringComparison.Ordinal)
                                             && a.Contains($"the signing secret's environment variable {Variable} is not set or empty; not sent unsigned", StringComparison.Ordinal));
        Assert.Empty(_webhook.Received);

        _harness.Environment[Variable] = Secret;
        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        var second = await _harness.FetchOnceAsync();

        Assert.Equal(MessageState.Done, Assert.Single(second.Messages).State);
        var request = Assert.Single(await _webhook.WaitForAcknowledgedAsync(1, Patience));
        Assert.Equal(Expected(request.Body), request.Header("X-RuleMail-Signature"));
        AssertStateHoldsNoSecret();
    }

    [Fact]
    public async Task A_retry_after_a_restart_sends_the_same_body_under_the_same_signature()
    {
        _harness.Environment[Variable] = Secret;
        Deliver("pgp-signed-encrypted");
        _webhook.RespondNext(1, HttpStatusCode.ServiceUnavailable);

        var first = await _harness.FetchOnceAsync(); // Each fetch is a fresh runtime: a restart in between.
        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        var second = await _harness.FetchOnceAsync();

        Assert.Equal(MessageState.Retry, Assert.Single(first.Messages).State);
        Assert.Equal(MessageState.Done, Assert.Single(second.Messages).State);
        var requests = await _webhook.WaitForAsync(2, Patience);
        Assert.Equal(2, requests.Count);
        Assert.Equal(requests[0].Body, requests[1].Body);
        Assert.Equal(requests[0].Header("X-RuleMail-Signature"), requests[1].Header("X-RuleMail-Signature"));
        Assert.Equal(requests[0].IdempotencyKey, requests[1].IdempotencyKey);
        Assert.Equal(Expected(requests[1].Body), requests[1].Header("X-RuleMail-Signature"));
        Assert.Contains("\"content\":\"decrypted\"", requests[1].Body, StringComparison.Ordinal);
        var (_, _, effects) = await _harness.LedgerAsync("INBOX", Assert.Single(second.Messages).SourceKey);
        var webhook = Assert.Single(effects, e => e.Kind == SideEffectKind.Webhook);
        Assert.Contains($"\"secret_env\":\"{Variable}\"", webhook.Payload, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_webhook_setting_stops_the_host_from_opening_with_its_file_line_and_column()
    {
        _harness.AddRule("0-webhook.yaml", $"""
            rules:
              - name: tell-the-ticket-system
                on: incoming
                then:
                  webhook: {"{"}url: {_webhook.Url}hook, include: [text, attachments]{"}"}
            """);

        var refused = await Assert.ThrowsAnyAsync<Exception>(async () => await (await _harness.OpenAsync()).DisposeAsync());

        Assert.Contains("0-webhook.yaml:5:", refused.Message, StringComparison.Ordinal);
        Assert.Contains("include takes text, html and mime, not 'attachments'", refused.Message, StringComparison.Ordinal);
    }

    private string Delivered => _harness.Folder.File("Maildir/new/1.demo");

    private void Deliver(string demo) => File.WriteAllBytes(Delivered, HostHarness.DemoMessage(demo));

    /// <summary>What a receiver computes: <c>sha256=</c> and the lowercase hex HMAC-SHA256 of the body's bytes under the secret.</summary>
    private static string Expected(string body, string secret = Secret) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));

    /// <summary>No file of the state (database, write-ahead log, shared memory) holds the secret, in any encoding SQLite would use.</summary>
    private void AssertStateHoldsNoSecret()
    {
        var files = Directory.GetFiles(Path.GetDirectoryName(_harness.StatePath)!);
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(Secret)) < 0, $"{file} holds the webhook secret");
            Assert.True(bytes.AsSpan().IndexOf(Encoding.Unicode.GetBytes(Secret)) < 0, $"{file} holds the webhook secret (UTF-16)");
        }
    }
}
