using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Host.Tests.Support;

/// <summary>The real servers the host's integration tests run against do what those tests rely on.</summary>
public sealed class ServerFixtureTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Dovecot_serves_imap_and_pop3_keeps_keywords_and_folders_and_survives_a_restart()
    {
        await using var dovecot = await DovecotServer.StartAsync(("alice", "alice-secret"), ("bob", "bob-secret"));
        Assert.True(Directory.Exists(Path.Combine(dovecot.MaildirOf("bob"), "cur")));

        var uid = await dovecot.AppendAsync("alice", "alice-secret", Mail("<first@test>", "First"));
        await dovecot.AppendAsync("alice", "alice-secret", Encoding.ASCII.GetBytes("Message-ID: <second@test>\r\nSubject: Second\r\n\r\nbody\r\n"));
        await dovecot.AddFlagsAsync("alice", "alice-secret", uid, MessageFlags.Seen, ["$RuleMailDone"]);
        await dovecot.CreateFolderAsync("alice", "alice-secret", "Quarantine");
        await dovecot.AppendAsync("alice", "alice-secret", Mail("<third@test>", "Third"), "Quarantine", keywords: ["$Held"]);

        var inbox = await dovecot.ListAsync("alice", "alice-secret");
        Assert.Equal(["first@test", "second@test"], inbox.Select(m => m.MessageId));
        Assert.Equal("First", inbox[0].Subject);
        Assert.Contains("$RuleMailDone", inbox[0].Keywords);
        Assert.True(inbox[0].Flags.HasFlag(MessageFlags.Seen));
        Assert.Empty(inbox[1].Keywords);
        Assert.True(await dovecot.FolderExistsAsync("alice", "alice-secret", "Quarantine"));
        Assert.False(await dovecot.FolderExistsAsync("alice", "alice-secret", "Sent"));
        Assert.Contains("$Held", Assert.Single(await dovecot.ListAsync("alice", "alice-secret", "Quarantine")).Keywords);
        Assert.Equal(0, await dovecot.CountAsync("bob", "bob-secret"));
        Assert.True(Directory.Exists(Path.Combine(dovecot.MaildirOf("alice"), ".Quarantine", "cur")));

        using (var pop3 = new Pop3Client())
        {
            await pop3.ConnectAsync(dovecot.Host, dovecot.Pop3Port, SecureSocketOptions.None);
            await pop3.AuthenticateAsync("alice", "alice-secret");
            Assert.Equal(2, pop3.Count);
            Assert.Equal("Second", (await pop3.GetMessageAsync(1)).Subject);
            await pop3.DisconnectAsync(true);
        }

        using (var imap = new ImapClient())
        {
            await imap.ConnectAsync(dovecot.Host, dovecot.ImapPort, SecureSocketOptions.None);
            await Assert.ThrowsAsync<AuthenticationException>(() => imap.AuthenticateAsync("alice", "wrong"));
        }

        await dovecot.StopAsync();
        using (var refused = new ImapClient())
        {
            await Assert.ThrowsAsync<SocketException>(() => refused.ConnectAsync(dovecot.Host, dovecot.ImapPort, SecureSocketOptions.None));
        }

        await dovecot.RestartAsync();
        var afterRestart = await dovecot.ListAsync("alice", "alice-secret");
        Assert.Equal(inbox.Select(m => (m.Uid, m.MessageId)), afterRestart.Select(m => (m.Uid, m.MessageId)));
        Assert.Contains("$RuleMailDone", afterRestart[0].Keywords);
    }

    [Fact]
    public async Task Dovecot_processes_are_gone_after_dispose()
    {
        var dovecot = await DovecotServer.StartAsync(("carol", "pw"));
        var port = dovecot.ImapPort;
        var root = dovecot.Root;

        await dovecot.DisposeAsync();

        Assert.False(LoopbackPort.Accepts(port));
        Assert.False(Directory.Exists(root));
    }

    [Fact]
    public async Task The_smtp_sink_keeps_each_message_with_its_envelope_and_survives_a_restart()
    {
        await using var sink = await SmtpSink.StartAsync();

        await Send(sink, Mail("<one@test>", "One"), "sender@test", ["rcpt1@test", "rcpt2@test"]);

        var received = Assert.Single(await sink.WaitForAsync(1, Wait));
        Assert.Equal("sender@test", received.MailFrom);
        Assert.Equal(["rcpt1@test", "rcpt2@test"], received.RcptTo);
        Assert.Equal("one@test", received.Message.MessageId);
        Assert.Null(received.AuthLogin);

        await sink.StopAsync();
        using (var refused = new SmtpClient())
        {
            await Assert.ThrowsAsync<SocketException>(() => refused.ConnectAsync(sink.Host, sink.Port, SecureSocketOptions.None));
        }

        await sink.RestartAsync();
        await Send(sink, Mail("<two@test>", "Two"), "sender@test", ["rcpt1@test"]);
        Assert.Equal(["one@test", "two@test"], (await sink.WaitForAsync(2, Wait)).Select(m => m.Message.MessageId));
    }

    [Fact]
    public async Task The_smtp_sink_checks_auth_and_refuses_what_it_is_told_to()
    {
        await using var sink = await SmtpSink.StartAsync(new SmtpSinkOptions { User = "relay", Password = "relay-pw", RequireAuth = true });

        using (var wrong = new SmtpClient())
        {
            await wrong.ConnectAsync(sink.Host, sink.Port, SecureSocketOptions.None);
            await Assert.ThrowsAsync<AuthenticationException>(() => wrong.AuthenticateAsync("relay", "nope"));
        }

        sink.FailNext(1, 451, "4.3.0 busy");
        sink.RejectRecipient("gone@test");
        using var client = new SmtpClient();
        await client.ConnectAsync(sink.Host, sink.Port, SecureSocketOptions.None);
        await client.AuthenticateAsync("relay", "relay-pw");

        var busy = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Mail("<busy@test>", "Busy"), Sender(), [Box("a@test")]));
        Assert.Equal(451, (int)busy.StatusCode);
        var gone = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Mail("<gone@test>", "Gone"), Sender(), [Box("gone@test")]));
        Assert.Equal(550, (int)gone.StatusCode);
        await client.SendAsync(Mail("<ok@test>", "Ok"), Sender(), [Box("a@test")]);

        var received = Assert.Single(await sink.WaitForAsync(1, Wait));
        Assert.Equal("ok@test", received.Message.MessageId);
        Assert.Equal("relay", received.AuthLogin);
    }

    [Fact]
    public async Task The_webhook_records_requests_answers_planned_failures_and_counts_only_delivered_answers()
    {
        await using var webhook = WebhookListener.Start();
        using var http = new HttpClient();

        using (var post = new HttpRequestMessage(HttpMethod.Post, new Uri(webhook.Url, "hooks/mail?x=1")))
        {
            post.Headers.Add("Idempotency-Key", "key-1");
            post.Content = new StringContent("{\"status\":\"ok\"}", Encoding.UTF8, "application/json");
            using var answer = await http.SendAsync(post);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        // The caller may see its answer before the listener knows it went out whole: reading Acknowledged at once waits
        // for that (every test that reads it right after a run relies on this).
        var first = Assert.Single(webhook.Acknowledged);
        Assert.Equal(("POST", "/hooks/mail", "?x=1", "key-1", "{\"status\":\"ok\"}"), (first.Method, first.Path, first.Query, first.IdempotencyKey, first.Body));
        Assert.StartsWith("application/json", first.Header("content-type"), StringComparison.Ordinal);

        webhook.RespondNext(2, HttpStatusCode.InternalServerError);
        webhook.RespondNext(1, HttpStatusCode.BadRequest);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var content = new StringContent("chunk", Encoding.UTF8);
            using var answer = await http.PostAsync(webhook.Url, content);
            statuses.Add(answer.StatusCode);
        }

        Assert.Equal([HttpStatusCode.InternalServerError, HttpStatusCode.InternalServerError, HttpStatusCode.BadRequest, HttpStatusCode.OK], statuses);
        Assert.Equal(5, webhook.Received.Count);
        Assert.Equal(2, webhook.Acknowledged.Count);

        // The caller gives up while the answer is held back: received, never acknowledged.
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var callerGone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        webhook.BeforeRespond = async _ =>
        {
            held.SetResult();
            await callerGone.Task;
        };
        using (var impatient = new CancellationTokenSource())
        {
            using var content = new StringContent("in flight");
            var call = http.PostAsync(webhook.Url, content, impatient.Token);
            await held.Task.WaitAsync(Wait);
            await impatient.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        }

        callerGone.SetResult();
        await webhook.WaitForAsync(6, Wait);
        Assert.Equal("in flight", webhook.Received[^1].Body);
        Assert.Equal(2, webhook.Acknowledged.Count); // Read once the held answer is settled, not after some time.

        webhook.BeforeRespond = null;
        using (var content = new StringContent("after"))
        {
            using var answer = await http.PostAsync(webhook.Url, content);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        Assert.Equal("after", (await webhook.WaitForAcknowledgedAsync(3, Wait))[^1].Body);
    }

    [Fact]
    public async Task A_caller_killed_while_the_webhook_holds_its_answer_is_not_acknowledged()
    {
        await using var webhook = WebhookListener.Start();
        var start = new ProcessStartInfo(SmtpSink.Python) { UseShellExecute = false };
        foreach (var argument in (string[])["-c", "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], data=b'from a child', timeout=60)", webhook.Url.ToString()])
        {
            start.ArgumentList.Add(argument);
        }

        using var caller = Process.Start(start)!;
        webhook.BeforeRespond = async _ =>
        {
            caller.Kill();
            await caller.WaitForExitAsync();
        };

        var received = Assert.Single(await webhook.WaitForAsync(1, Wait));
        Assert.Equal("from a child", received.Body);
        await caller.WaitForExitAsync().WaitAsync(Wait);
        Assert.Empty(webhook.Acknowledged); // Read once the request is settled, not after some time.
    }

    [Fact]
    public void A_missing_server_program_fails_loudly_with_how_to_install_it()
    {
        var error = Assert.Throws<ExternalToolException>(() => ServerProcess.Start("/usr/sbin/rulemail-no-such-server", [], Path.GetTempPath(), "apt-get install it"));

        Assert.Contains("rulemail-no-such-server", error.Message, StringComparison.Ordinal);
        Assert.Contains("apt-get install it", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_webhook_reads_chunked_bodies_and_can_be_stopped_and_restarted()
    {
        await using var webhook = WebhookListener.Start();
        using var http = new HttpClient();

        using (var chunked = new StreamContent(new NonSeekableStream(Encoding.UTF8.GetBytes("streamed body"))))
        {
            using var answer = await http.PostAsync(webhook.Url, chunked);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        Assert.Equal("streamed body", Assert.Single(webhook.Received).Body);

        await webhook.StopAsync();
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(webhook.Url));
        await webhook.RestartAsync();
        using (var answer = await http.GetAsync(webhook.Url))
        {
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        Assert.Equal(2, webhook.Acknowledged.Count);
    }

    private static MimeMessage Mail(string messageId, string subject)
    {
        var message = new MimeMessage { Subject = subject, MessageId = messageId.Trim('<', '>') };
        message.From.Add(Sender());
        message.To.Add(Box("a@test"));
        message.Body = new TextPart("plain") { Text = "hello\r\n" };
        return message;
    }

    private static MailboxAddress Sender() => Box("sender@test");

    private static MailboxAddress Box(string address) => new("", address);

    private static async Task Send(SmtpSink sink, MimeMessage message, string from, string[] to)
    {
        using var client = new SmtpClient();
        await client.ConnectAsync(sink.Host, sink.Port, SecureSocketOptions.None);
        await client.SendAsync(message, Box(from), to.Select(Box));
        await client.DisconnectAsync(true);
    }

    /// <summary>A stream of unknown length, so HttpClient sends it chunked.</summary>
    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
