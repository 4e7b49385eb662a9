using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using MimeKit.Cryptography;
using RuleMail.Host.Configuration;
using RuleMail.Host.Processing;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Json;
using RuleMail.Keys;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Api;

/// <summary>
/// The outbox over HTTP on the real service with the Quartz jobs (<c>rulemail run</c> with <c>http:</c>), the shipped
/// rules, the sample key store and a real SMTP server: an enqueued message goes out exactly once (a retried POST never
/// sends it twice), one that cannot be protected as required is held with its reason and goes out protected once
/// released after its key was imported, and every bad request is a problem answer that leaves nothing in the outbox.
/// </summary>
public sealed class OutboxEndpointsTests : IAsyncLifetime
{
    private const string Account = "support";
    private const string Alice = "alice@customer.test";
    private const string Stranger = "stranger@unknown.test";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly string[] NotAnAddress = ["not an address"];

    private readonly HostHarness _host = HostHarness.Create();
    private SmtpSink _sink = null!;
    private WebHarness? _web;

    private string OutboxPath => _host.Folder.File("outbox");

    public async Task InitializeAsync() => _sink = await SmtpSink.StartAsync();

    public async Task DisposeAsync()
    {
        if (_web is not null)
        {
            await _web.DisposeAsync();
        }

        await _sink.DisposeAsync();
        _host.Dispose();
    }

    [Fact]
    public async Task An_enqueued_message_is_sent_once_and_enqueueing_it_again_answers_the_same_message_without_sending_it_again()
    {
        var web = await StartAsync();
        var agent = await web.ClientAsync(ApiRole.Agent);
        var raw = Mail(Alice, "Ticket #4711 solved");

        // A ticket system whose first POST timed out retries at once: both answers name one message.
        var answers = await Task.WhenAll(EnqueueAsync(agent, raw), EnqueueAsync(agent, raw));

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Accepted], answers.Select(a => a.StatusCode).Order());
        var accepted = answers.Single(a => a.StatusCode == HttpStatusCode.Accepted);
        var queued = await DocumentAsync(accepted);
        Assert.Matches("^[0-9]{8}T[0-9]{6}-[0-9a-f]{16}$", queued.Id);
        Assert.Equal(Account, queued.Account);
        Assert.Equal($"/api/v1/outbox/{queued.Id}", queued.Location);
        Assert.Equal(queued.Location, accepted.Headers.Location?.OriginalString);
        Assert.Equal([Alice], queued.To);
        Assert.Equal("Ticket #4711 solved", queued.Subject);
        Assert.Equal(queued.Id, (await DocumentAsync(answers.Single(a => a.StatusCode == HttpStatusCode.OK))).Id);

        var received = Assert.Single(await _sink.WaitForAsync(1, Deadline));
        var sent = await WaitForStateAsync(agent, queued.Id, "sent");

        Assert.Equal([Alice], received.RcptTo);
        Assert.Equal("Ticket #4711 solved", received.Message.Subject);
        Assert.IsType<ApplicationPkcs7Mime>(received.Message.Body);
        Assert.Equal("signed and encrypted with S/MIME", sent.Reason);
        Assert.Equal(received.Message.MessageId, sent.MessageId);
        Assert.Equal(raw, await File.ReadAllBytesAsync(Path.Combine(OutboxPath, OutboxSender.SentFolder, queued.Id + ".eml")));

        var again = await EnqueueAsync(agent, raw);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var known = await DocumentAsync(again);
        Assert.Equal((queued.Id, "sent"), (known.Id, known.State));

        // Another message after it: once that is sent, every send run the repeat could have caused is over.
        var other = await DocumentAsync(await EnqueueAsync(agent, Mail(Alice, "Ticket #4712 solved")));
        await _sink.WaitForAsync(2, Deadline);
        await WaitForStateAsync(agent, other.Id, "sent");
        Assert.Equal(["Ticket #4711 solved", "Ticket #4712 solved"], _sink.Messages.Select(m => m.Message.Subject).Order(StringComparer.Ordinal));
        Assert.Empty(Directory.GetFiles(OutboxPath));
        var listed = await ListAsync(agent, "?state=sent");
        Assert.Equal([other.Id, queued.Id], listed.Select(e => e.Id));
        Assert.Empty(await ListAsync(agent, "?state=queued"));
    }

    [Fact]
    public async Task A_message_that_cannot_be_encrypted_is_held_with_its_reason_and_once_the_key_is_there_release_sends_it_encrypted()
    {
        // Alice's certificate is taken out of the test's copy of the store before the service starts, and imported again later.
        var copy = _host.CopyKeyStore();
        var options = new KeyStoreOptions { Time = TimeProvider.System, Passphrase = new KeyStorePassphrase(HostHarness.SamplePassphrase) };
        var offline = KeyStore.Open(copy, options);
        offline.Remove(offline.Entries.Single(e => e.Kind == KeyKind.Smime && e.Addresses.Contains(Alice)).Fingerprint);
        var web = await StartAsync();
        var agent = await web.ClientAsync(ApiRole.Agent);
        var viewer = await web.ClientAsync(ApiRole.Viewer);

        var queued = await DocumentAsync(await EnqueueAsync(agent, Mail(Alice, "Your contract", "X-RuleMail-Encrypt: yes")));
        var held = await WaitForStateAsync(viewer, queued.Id, "held");

        Assert.StartsWith("cannot encrypt with S/MIME", held.Reason, StringComparison.Ordinal);
        var listed = Assert.Single(await ListAsync(viewer, $"?state=held&account={Account}"));
        Assert.Equal((queued.Id, held.Reason), (listed.Id, listed.Reason));
        Assert.Empty(await ListAsync(viewer, "?state=held&account=sales"));
        Assert.True(File.Exists(Path.Combine(OutboxPath, OutboxSender.HeldFolder, queued.Id + ".eml")));
        Assert.Empty(_sink.Messages);

        // Released while the key is still missing: judged again and held again, never sent as plaintext.
        var early = await agent.PostAsync($"api/v1/outbox/{queued.Id}/release", null);
        Assert.Equal(HttpStatusCode.Accepted, early.StatusCode);
        Assert.Equal("queued", (await DocumentAsync(early)).State);
        var heldAgain = await WaitForAsync(agent, queued.Id, d => d.State == "held" && d.UpdatedAt > held.UpdatedAt);
        Assert.StartsWith("cannot encrypt with S/MIME", heldAgain.Reason, StringComparison.Ordinal);
        Assert.Empty(_sink.Messages);

        web.App.Services.GetRequiredService<KeyStore>().Import(
            [ImportFile.Read(Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "source", "alice.crt"))]);
        var released = await agent.PostAsync($"api/v1/outbox/{queued.Id}/release", null);

        Assert.Equal(HttpStatusCode.Accepted, released.StatusCode);
        Assert.Equal(queued.Location, released.Headers.Location?.OriginalString);
        var received = Assert.Single(await _sink.WaitForAsync(1, Deadline));
        var sent = await WaitForStateAsync(agent, queued.Id, "sent");
        Assert.Equal([Alice], received.RcptTo);
        var envelope = Assert.IsType<ApplicationPkcs7Mime>(received.Message.Body);
        Assert.Equal(SecureMimeType.EnvelopedData, envelope.SecureMimeType);
        Assert.DoesNotContain("X-RuleMail-", Encoding.UTF8.GetString(received.Raw), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Body of Your contract", Encoding.UTF8.GetString(received.Raw), StringComparison.Ordinal);
        Assert.Contains("encrypted with S/MIME", sent.Reason, StringComparison.Ordinal);
        Assert.Equal(0, sent.Attempts);

        // Sent: there is nothing to release any more.
        var refused = await agent.PostAsync($"api/v1/outbox/{queued.Id}/release", null);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal($"{queued.Id} is sent: only a held or failed message can be released", await DetailAsync(refused));
        Assert.Single(_sink.Messages);
    }

    [Fact]
    public async Task A_composed_json_body_is_built_into_the_message_and_its_choice_is_kept_so_a_required_encryption_is_held_never_sent_plain()
    {
        var web = await StartAsync();
        var agent = await web.ClientAsync(ApiRole.Agent);

        var plain = await agent.PostAsJsonAsync($"api/v1/accounts/{Account}/outbox", new
        {
            from = "support@rulemail.test", to = new[] { Alice }, subject = "Plain on purpose", text = "Lunch at noon?", encrypt = false, sign = false,
        });
        var stranger = await agent.PostAsJsonAsync($"api/v1/accounts/{Account}/outbox", new
        {
            from = "support@rulemail.test", to = new[] { Stranger }, subject = "Secret", text = "The code is 4711.", encrypt = true,
        });

        var sentPlain = await WaitForStateAsync(agent, (await DocumentAsync(plain)).Id, "sent");
        var received = Assert.Single(await _sink.WaitForAsync(1, Deadline));
        Assert.Equal("Plain on purpose", received.Message.Subject);
        Assert.IsType<TextPart>(received.Message.Body);
        Assert.Equal("Lunch at noon?", received.Message.TextBody?.TrimEnd());
        Assert.DoesNotContain("X-RuleMail-", Encoding.UTF8.GetString(received.Raw), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("sent", sentPlain.State);

        var held = await WaitForStateAsync(agent, (await DocumentAsync(stranger)).Id, "held");
        Assert.StartsWith("cannot encrypt with S/MIME", held.Reason, StringComparison.Ordinal);
        Assert.Single(_sink.Messages);

        var bad = await agent.PostAsJsonAsync($"api/v1/accounts/{Account}/outbox", new { from = "support@rulemail.test", to = NotAnAddress });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
        Assert.Equal("to: 'not an address' is not an e-mail address", await DetailAsync(bad));
    }

    [Fact]
    public async Task A_message_the_server_refused_for_good_is_failed_and_release_sends_it_once_the_server_takes_it()
    {
        var web = await StartAsync();
        var agent = await web.ClientAsync(ApiRole.Agent);
        _sink.FailNext(1, 554, "5.7.1 not now, not ever");

        var queued = await DocumentAsync(await EnqueueAsync(agent, Mail(Alice, "Refused once")));
        var failed = await WaitForStateAsync(agent, queued.Id, "failed");

        Assert.Contains("554", failed.Reason, StringComparison.Ordinal);
        Assert.Equal([queued.Id], (await ListAsync(agent, "?state=failed")).Select(e => e.Id));
        Assert.True(File.Exists(Path.Combine(OutboxPath, OutboxSender.FailedFolder, queued.Id + ".eml")));
        Assert.Empty(_sink.Messages);

        var released = await agent.PostAsync($"api/v1/outbox/{queued.Id}/release", null);

        Assert.Equal(HttpStatusCode.Accepted, released.StatusCode);
        var received = Assert.Single(await _sink.WaitForAsync(1, Deadline));
        Assert.Equal("Refused once", received.Message.Subject);
        var sent = await WaitForStateAsync(agent, queued.Id, "sent");
        Assert.Equal((0, "signed and encrypted with S/MIME"), (sent.Attempts, sent.Reason));
        Assert.False(File.Exists(Path.Combine(OutboxPath, OutboxSender.FailedFolder, queued.Id + ".eml")));
    }

    [Fact]
    public async Task The_openapi_document_describes_the_outbox_operations_and_the_message_body()
    {
        var web = await StartAsync(schedule: false);

        var document = JsonDocument.Parse(await web.Client().GetStringAsync("openapi/v1.json")).RootElement;

        var paths = document.GetProperty("paths");
        var enqueue = paths.GetProperty("/api/v1/accounts/{name}/outbox").GetProperty("post");
        Assert.Equal("enqueue", enqueue.GetProperty("operationId").GetString());
        Assert.True(enqueue.GetProperty("requestBody").GetProperty("content").TryGetProperty("message/rfc822", out _));
        Assert.True(enqueue.GetProperty("responses").TryGetProperty("202", out _));
        Assert.Equal("outbox", paths.GetProperty("/api/v1/outbox").GetProperty("get").GetProperty("operationId").GetString());
        Assert.Equal("outbox-message", paths.GetProperty("/api/v1/outbox/{id}").GetProperty("get").GetProperty("operationId").GetString());
        Assert.Equal("release", paths.GetProperty("/api/v1/outbox/{id}/release").GetProperty("post").GetProperty("operationId").GetString());
    }

    [Fact]
    public async Task Bad_requests_are_problems_with_one_clear_line_and_leave_nothing_in_the_outbox()
    {
        _host.AddMaildirAccount(); // "demo": fetches, does not send.
        var web = await StartAsync();
        var agent = await web.ClientAsync(ApiRole.Agent);
        var good = Mail(Alice, "Fine");

        await AssertProblemAsync(await EnqueueAsync(agent, good, "nobody"), HttpStatusCode.NotFound, "no account named 'nobody' in the configuration");
        await AssertProblemAsync(await EnqueueAsync(agent, good, "demo"), HttpStatusCode.Conflict, "the account demo does not send: it has no send.outbox in the configuration");
        await AssertProblemAsync(await EnqueueAsync(agent, Encoding.UTF8.GetBytes("just some words, no header at all\r\n")), HttpStatusCode.UnprocessableEntity,
            "the body is not a MIME message: Failed to parse message headers");
        await AssertProblemAsync(await EnqueueAsync(agent, [0x00, 0xff, 0xfe, 0x00, 0x01]), HttpStatusCode.UnprocessableEntity, null);
        await AssertProblemAsync(await EnqueueAsync(agent, Encoding.UTF8.GetBytes("Subject: nobody to send it to\r\n\r\ntext\r\n")), HttpStatusCode.UnprocessableEntity,
            "the message needs one From address and at least one recipient (To, Cc or Bcc)");
        await AssertProblemAsync(await EnqueueAsync(agent, Mail(Alice, "Misspelt", "X-RuleMail-Encrypt: perhaps")), HttpStatusCode.UnprocessableEntity,
            "X-RuleMail-Encrypt: 'perhaps' is not yes or no");
        await AssertProblemAsync(await EnqueueAsync(agent, Mail(Alice, "Misspelt", "X-RuleMail-Encrypted: yes")), HttpStatusCode.UnprocessableEntity,
            "X-RuleMail-Encrypted: not a RuleMail header (only X-RuleMail-Sign, X-RuleMail-Encrypt and X-RuleMail-Type are)");
        await AssertProblemAsync(await EnqueueAsync(agent, good, contentType: "text/plain"), HttpStatusCode.UnsupportedMediaType,
            "send the message as Content-Type: message/rfc822, not text/plain");
        await AssertProblemAsync(await EnqueueAsync(agent, []), HttpStatusCode.BadRequest, "the body is empty: send the message as it was received");

        await AssertProblemAsync(await agent.GetAsync("api/v1/outbox/20250101T000000-0000000000000000"), HttpStatusCode.NotFound,
            "no outbox message has the id '20250101T000000-0000000000000000'");
        await AssertProblemAsync(await agent.GetAsync("api/v1/outbox/..%2F..%2Fstate"), HttpStatusCode.NotFound, null);
        await AssertProblemAsync(await agent.PostAsync("api/v1/outbox/nothing-here/release", null), HttpStatusCode.NotFound,
            "no outbox message has the id 'nothing-here'");
        await AssertProblemAsync(await agent.GetAsync("api/v1/outbox?state=lost"), HttpStatusCode.BadRequest,
            "state must be queued, sending, sent, held or failed, not 'lost'");
        await AssertProblemAsync(await agent.GetAsync("api/v1/outbox?state=1"), HttpStatusCode.BadRequest, null);
        await AssertProblemAsync(await agent.GetAsync("api/v1/outbox?limit=0"), HttpStatusCode.BadRequest, "limit must be a whole number from 1 to 1000, not '0'");
        await AssertProblemAsync(await agent.GetAsync("api/v1/outbox?limit=ten"), HttpStatusCode.BadRequest, "limit must be a whole number from 1 to 1000, not 'ten'");

        Assert.False(Directory.Exists(OutboxPath) && Directory.EnumerateFileSystemEntries(OutboxPath).Any(),
            $"the outbox holds {string.Join(", ", Directory.Exists(OutboxPath) ? Directory.GetFileSystemEntries(OutboxPath) : [])}");
        Assert.Empty(await ListAsync(agent, ""));
    }

    [Fact]
    public async Task A_viewer_sees_the_outbox_but_may_neither_enqueue_nor_release()
    {
        _host.CopyKeyStore();
        var web = await StartAsync();
        var viewer = await web.ClientAsync(ApiRole.Viewer);
        var agent = await web.ClientAsync(ApiRole.Agent);
        var held = await DocumentAsync(await EnqueueAsync(agent, Mail(Stranger, "Held", "X-RuleMail-Encrypt: yes")));
        await WaitForStateAsync(viewer, held.Id, "held");

        var enqueue = await EnqueueAsync(viewer, Mail(Alice, "From a viewer"));
        var release = await viewer.PostAsync($"api/v1/outbox/{held.Id}/release", null);

        await AssertProblemAsync(enqueue, HttpStatusCode.Forbidden, "the token's role (viewer) may not do this; it needs the role agent or above");
        await AssertProblemAsync(release, HttpStatusCode.Forbidden, "the token's role (viewer) may not do this; it needs the role agent or above");
        Assert.Equal([held.Id], (await ListAsync(viewer, "")).Select(e => e.Id));
        Assert.Equal("held", (await DocumentAsync(await viewer.GetAsync($"api/v1/outbox/{held.Id}"))).State);
        Assert.Empty(Directory.GetFiles(OutboxPath, "*.eml"));
    }

    [Fact]
    public async Task Without_the_jobs_rulemail_serve_queues_the_message_whole_for_the_next_run_and_says_so()
    {
        var web = await StartAsync(schedule: false);
        var agent = await web.ClientAsync(ApiRole.Agent);
        var raw = Mail(Alice, "Later", "X-RuleMail-Sign: yes");

        var queued = await DocumentAsync(await EnqueueAsync(agent, raw));

        Assert.Equal("queued", queued.State);
        Assert.Equal("waits for the next rulemail run: this process (rulemail serve) does not send", queued.Reason);
        Assert.Equal([queued.Id + ".eml"], Directory.GetFileSystemEntries(OutboxPath).Select(Path.GetFileName));
        Assert.Equal(raw, await File.ReadAllBytesAsync(Path.Combine(OutboxPath, queued.Id + ".eml")));
        var seen = await DocumentAsync(await agent.GetAsync(queued.Location.TrimStart('/')));
        Assert.Equal(ContractJson.Serialize(queued), ContractJson.Serialize(seen));
    }

    private async Task<WebHarness> StartAsync(bool schedule = true)
    {
        _host.Accounts.Add(new AccountConfig
        {
            Name = Account,
            Address = "support@rulemail.test",

            // Hourly: after the run at start only the API's nudge can send a message within the test's deadline.
            Send = new SendConfig { Every = "1h", Outbox = OutboxPath, Smtp = new ServerConfig { Host = _sink.Host, Port = _sink.Port, Security = "none" } },
        });
        _web = await WebHarness.StartAsync(_host, schedule: schedule);
        return _web;
    }

    /// <summary>A plain message from the account, as a ticket system writes it (CRLF, no Message-ID), with extra header lines.</summary>
    private static byte[] Mail(string to, string subject, params string[] headers) => Encoding.UTF8.GetBytes(
        $"From: Support <support@rulemail.test>\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Mon, 02 Jun 2025 10:00:00 +0000\r\n"
        + string.Concat(headers.Select(h => h + "\r\n"))
        + $"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBody of {subject}.\r\n");

    private static Task<HttpResponseMessage> EnqueueAsync(HttpClient client, byte[] raw, string account = Account, string contentType = "message/rfc822")
    {
        var content = new ByteArrayContent(raw);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return client.PostAsync($"api/v1/accounts/{account}/outbox", content);
    }

    private static async Task<OutboxEntryDocument> DocumentAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return ContractJson.Deserialize<OutboxEntryDocument>(text)!;
    }

    private static async Task<IReadOnlyList<OutboxEntryDocument>> ListAsync(HttpClient client, string query)
    {
        var response = await client.GetAsync($"api/v1/outbox{query}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return ContractJson.Deserialize<OutboxListDocument>(text)!.Outbox;
    }

    private static Task<OutboxEntryDocument> WaitForStateAsync(HttpClient client, string id, string state) =>
        WaitForAsync(client, id, d => d.State == state);

    /// <summary>Polls the message's document until <paramref name="done"/> holds; fails with the last one seen after the deadline.</summary>
    private static async Task<OutboxEntryDocument> WaitForAsync(HttpClient client, string id, Func<OutboxEntryDocument, bool> done)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var document = await DocumentAsync(await client.GetAsync($"api/v1/outbox/{id}"));
            if (done(document))
            {
                return document;
            }

            if (clock.Elapsed > Deadline)
            {
                throw new Xunit.Sdk.XunitException($"{id} did not get there within {Deadline.TotalSeconds} s; it is {document.State}: {document.Reason}");
            }

            await Task.Delay(50);
        }
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? detail)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.True(problem.TryGetProperty("detail", out _), $"{response.RequestMessage?.RequestUri}: {text}");
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        var actual = problem.GetProperty("detail").GetString();
        Assert.False(string.IsNullOrWhiteSpace(actual));
        Assert.DoesNotContain("   at ", actual, StringComparison.Ordinal);
        if (detail is not null)
        {
            Assert.Equal(detail, actual);
        }
    }

    private static async Task<string?> DetailAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString();
}
