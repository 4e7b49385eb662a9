using MimeKit;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Json;
using RuleMail.Keys;
using RuleMail.Rules;

namespace RuleMail.Core.Tests.Json;

/// <summary>
/// What a webhook's <c>include</c> puts in its body: the decrypted text, HTML and MIME only when the plaintext's
/// integrity held (authenticated encryption, MDC, or a valid signature over it); for a message that failed or has no
/// integrity protection no plaintext at all (EFAIL), only the message as received, still encrypted.
/// </summary>
public sealed class WebhookContentTests(SmimeMail mail) : IClassFixture<SmimeMail>
{
    private const string Marker = "WEBHOOK-PLAINTEXT-MARKER-7c41";
    private const WebhookInclude Everything = WebhookInclude.Text | WebhookInclude.Html | WebhookInclude.Mime;

    [Fact]
    public void Authenticated_encryption_gives_the_decrypted_text_html_and_mime()
    {
        using var store = MailboxStore.With(mail.WithPrivateKey(SmimeMail.Support));
        var raw = IncomingMail.WithHeaders(mail.CmsEncrypt(Alternative(), SmimeMail.Support, "-aes-256-gcm"), "paul@example.net", MailboxStore.Account);

        var payload = Payload(store.Inspect(raw, MailboxStore.Account), raw, Everything);

        Assert.Equal("decrypted", payload.Content);
        Assert.Contains(Marker, payload.Text, StringComparison.Ordinal);
        Assert.Contains("<b>" + Marker + "</b>", payload.Html, StringComparison.Ordinal);
        var decrypted = Mime(payload);
        Assert.Contains("<b>" + Marker + "</b>", decrypted.HtmlBody, StringComparison.Ordinal);
        Assert.Equal("multipart/alternative", decrypted.Body!.ContentType.MimeType);
    }

    [Fact]
    public void Cbc_encryption_without_a_signature_withholds_the_plaintext_and_gives_the_message_as_received()
    {
        using var store = MailboxStore.With(mail.WithPrivateKey(SmimeMail.Support));
        var raw = IncomingMail.WithHeaders(mail.SmimeEncrypt(Alternative(), SmimeMail.Support), "paul@example.net", MailboxStore.Account, "Interop test", "X-RuleMail-Encrypt: yes");
        var report = store.Inspect(raw, MailboxStore.Account);
        Assert.True(report.Security.Encryption?.Success, "the message was expected to decrypt");
        Assert.Equal(Integrity.None, report.Security.Encryption?.Integrity);

        var payload = Payload(report, raw, Everything);

        Assert.Equal("withheld", payload.Content);
        Assert.Null(payload.Text);
        Assert.Null(payload.Html);
        var received = Mime(payload);
        Assert.Equal("application/pkcs7-mime", received.Body!.ContentType.MimeType.Replace("x-", "", StringComparison.Ordinal));
        Assert.Null(received.Headers["X-RuleMail-Encrypt"]);
        Assert.DoesNotContain(Marker, ContractJson.Serialize(payload), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pgp-no-mdc", "multipart/encrypted")]
    [InlineData("smime-encrypted-other", "application/pkcs7-mime")]
    public void A_message_that_could_not_be_decrypted_gives_no_text_and_the_message_as_received(string demo, string type)
    {
        var raw = HostDemo(demo);
        var report = SampleSecurity().Inspect(new MemoryStream(raw, writable: false), MailboxStore.Account);
        Assert.False(report.Security.Encryption?.Success);

        var payload = Payload(report, raw, Everything);

        Assert.Equal("withheld", payload.Content);
        Assert.Null(payload.Text);
        Assert.Null(payload.Html);
        var received = Mime(payload);
        Assert.Equal(type, received.Body!.ContentType.MimeType.Replace("x-", "", StringComparison.Ordinal));
        Assert.Null(received.Headers["X-RuleMail-Encrypt"]);
        Assert.DoesNotContain("Old client, no integrity protection", ContractJson.Serialize(payload), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("smime-signed-encrypted", "The contract is attached, signed and sealed.")]
    [InlineData("pgp-signed-encrypted", null)]
    public void A_signed_and_encrypted_demo_message_gives_its_decrypted_text(string demo, string? text)
    {
        var raw = HostDemo(demo);
        var report = SampleSecurity().Inspect(new MemoryStream(raw, writable: false), MailboxStore.Account);

        var payload = Payload(report, raw, WebhookInclude.Text | WebhookInclude.Mime);

        Assert.Equal("decrypted", payload.Content);
        Assert.False(string.IsNullOrEmpty(payload.Text));
        if (text is not null)
        {
            Assert.Contains(text, payload.Text, StringComparison.Ordinal);
        }

        Assert.Null(payload.Html);
        Assert.Equal(payload.Text, Mime(payload).TextBody);
    }

    [Fact]
    public void A_message_that_was_not_encrypted_gives_its_content_as_received_even_when_its_signature_failed()
    {
        var raw = HostDemo("smime-tampered");
        var report = SampleSecurity().Inspect(new MemoryStream(raw, writable: false), MailboxStore.Account);
        Assert.False(report.Security.Sign?.Success);

        var payload = Payload(report, raw, WebhookInclude.Text);

        Assert.Equal("received", payload.Content);
        Assert.Contains("Harbour Road 9", payload.Text, StringComparison.Ordinal);
        Assert.Null(payload.Mime);
    }

    [Fact]
    public void Without_include_the_body_has_no_content_fields()
    {
        var raw = HostDemo("smime-signed-encrypted");
        var report = SampleSecurity().Inspect(new MemoryStream(raw, writable: false), MailboxStore.Account);

        var json = ContractJson.Serialize(Payload(report, raw, WebhookInclude.None));

        Assert.DoesNotContain("\"content\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"text\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"mime\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("The contract is attached", json, StringComparison.Ordinal);
    }

    private static WebhookPayload Payload(IncomingReport report, byte[] raw, WebhookInclude include) =>
        WebhookPayload.Create(
            "support", "INBOX", "1:1", "paul@example.net", report, raw.Length, RuleDecision.Empty, [], 1, "0123456789abcdef0123456789abcdef",
            include, new MemoryStream(raw, writable: false));

    private static MimeMessage Mime(WebhookPayload payload) =>
        MimeMessage.Load(new MemoryStream(Convert.FromBase64String(payload.Mime ?? throw new InvalidOperationException("no mime in the payload"))));

    /// <summary>A multipart/alternative with the marker in its text and its HTML, CRLF line ends.</summary>
    private static byte[] Alternative()
    {
        var alternative = new MultipartAlternative
        {
            new TextPart("plain") { Text = $"The secret is {Marker}.\r\n" },
            new TextPart("html") { Text = $"<p>The secret is <b>{Marker}</b>.</p>\r\n" },
        };
        using var bytes = new MemoryStream();
        alternative.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, bytes);
        return bytes.ToArray();
    }

    /// <summary>The shipped sample store with its passphrase: the demo mailbox's messages decrypt against it.</summary>
    private static IncomingSecurity SampleSecurity()
    {
        var sample = Path.Combine(Root(), "keystore-sample");
        var passphrase = KeyStorePassphrase.FromFile(Path.Combine(sample, "passphrase.txt"));
        return new IncomingSecurity(KeyStore.Open(sample, new KeyStoreOptions
        {
            Passphrase = passphrase,
            Time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero)),
        }));
    }

    private static byte[] HostDemo(string name) =>
        File.ReadAllBytes(Directory.GetFiles(Path.Combine(Root(), "keystore-sample", "mailbox", "new"))
            .Single(f => Path.GetFileName(f).EndsWith($".demo-{name}", StringComparison.Ordinal)));

    private static string Root()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "RuleMail.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("RuleMail.sln not found above the test binaries");
    }
}
