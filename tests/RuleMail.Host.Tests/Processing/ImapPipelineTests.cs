using System.Net;
using MailKit;
using MimeKit;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Processing;

/// <summary>
/// The incoming pipeline against a real Dovecot over IMAP and a real HTTP webhook endpoint: every message is
/// processed once across runs, failed-security mail is flagged and moved to Quarantine, outages lose nothing.
/// </summary>
public sealed class ImapPipelineTests : IAsyncLifetime
{
    private const string User = "support";
    private const string Password = "imap-secret";
    private static readonly string[] FailedDemos = ["smime-tampered", "smime-encrypted-other", "pgp-no-mdc"];
    private static readonly string[] GoodDemos = ["plain", "smime-signed", "smime-signed-encrypted", "pgp-signed-encrypted"];
    private readonly HostHarness _harness = HostHarness.Create();
    private DovecotServer _dovecot = null!;
    private WebhookListener _webhook = null!;

    public async Task InitializeAsync()
    {
        _dovecot = await DovecotServer.StartAsync((User, Password));
        _webhook = WebhookListener.Start();
        _harness.ImapAccount(_dovecot, User, Password);
        _harness.AddWebhookRule(_webhook.Url, "seen-by-rulemail");
    }

    public async Task DisposeAsync()
    {
        await _webhook.DisposeAsync();
        await _dovecot.DisposeAsync();
        _harness.Dispose();
    }

    [Fact]
    public async Task Every_message_gives_one_webhook_call_however_often_the_host_runs()
    {
        await AppendDemosAsync([.. GoodDemos, .. FailedDemos]);

        var first = await _harness.FetchOnceAsync();
        var second = await _harness.FetchOnceAsync();

        Assert.Null(first.Error);
        Assert.Equal(7, first.Messages.Count);
        Assert.All(first.Messages, m => Assert.Equal(MessageState.Done, m.State));
        Assert.Empty(second.Messages);
        Assert.Equal(7, _webhook.Acknowledged.Count);
        Assert.Equal(7, _webhook.Acknowledged.Select(r => r.IdempotencyKey).Distinct().Count());

        await AppendPlainAsync("late-1");
        await AppendPlainAsync("late-2");
        var third = await _harness.FetchOnceAsync();

        Assert.Equal(2, third.Messages.Count);
        Assert.Equal(9, _webhook.Received.Count);
    }

    [Fact]
    public async Task Failed_security_mail_is_flagged_and_sits_in_Quarantine_and_good_mail_stays()
    {
        await AppendDemosAsync([.. GoodDemos, .. FailedDemos]);

        await _harness.FetchOnceAsync();

        var quarantine = await _dovecot.ListAsync(User, Password, "Quarantine");
        var inbox = await _dovecot.ListAsync(User, Password);
        Assert.Equal(FailedDemos.Length, quarantine.Count);
        Assert.All(quarantine, m => Assert.Contains("security-failed", m.Keywords));
        Assert.Equal(GoodDemos.Length, inbox.Count);
        Assert.All(inbox, m => Assert.DoesNotContain("security-failed", m.Keywords));
        Assert.All(inbox, m => Assert.False(m.Flags.HasFlag(MessageFlags.Seen), "RuleMail reads with BODY.PEEK and never marks mail read"));
    }

    [Fact]
    public async Task The_webhook_carries_the_security_result_tags_and_an_idempotency_key()
    {
        await AppendDemosAsync(["smime-tampered"]);

        await _harness.FetchOnceAsync();

        var call = Assert.Single(_webhook.Acknowledged);
        Assert.Equal("POST", call.Method);
        Assert.Equal("/hook", call.Path);
        Assert.Matches("^[0-9a-f]{32}$", call.IdempotencyKey);
        using var json = System.Text.Json.JsonDocument.Parse(call.Body);
        var security = json.RootElement.GetProperty("security");
        Assert.Equal("S/MIME", security.GetProperty("type").GetString());
        Assert.False(security.GetProperty("sign").GetProperty("success").GetBoolean());
        Assert.Equal("support", json.RootElement.GetProperty("account").GetString());
        Assert.Contains("seen-by-rulemail", json.RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("Quarantine", json.RootElement.GetProperty("decision").GetProperty("move").GetString());
    }

    [Fact]
    public async Task Keywords_from_rules_are_set_over_IMAP()
    {
        _harness.AddRule("60-label.yaml", """
            rules:
              - name: label-customers
                on: incoming
                when:
                  from.domain: customer.test
                then:
                  flag: [customer, needs-reply]
            """);
        await AppendDemosAsync(["smime-signed", "pgp-signed-encrypted"]);

        await _harness.FetchOnceAsync();

        var inbox = await _dovecot.ListAsync(User, Password);
        var alice = Assert.Single(inbox, m => m.Subject == "New delivery address");
        Assert.Contains("customer", alice.Keywords);
        Assert.Contains("needs-reply", alice.Keywords);
        Assert.DoesNotContain("customer", Assert.Single(inbox, m => m.Subject == "Server logs").Keywords);
    }

    [Fact]
    public async Task A_failing_webhook_is_retried_after_the_backoff_and_delivered_once()
    {
        await AppendPlainAsync("one");
        _webhook.RespondNext(1, HttpStatusCode.ServiceUnavailable);

        var failed = await _harness.FetchOnceAsync();
        var tooEarly = await _harness.FetchOnceAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        var retried = await _harness.FetchOnceAsync();

        Assert.Equal(MessageState.Retry, Assert.Single(failed.Messages).State);
        Assert.Empty(tooEarly.Messages);
        Assert.Equal(1, tooEarly.Waiting);
        Assert.Equal(MessageState.Done, Assert.Single(retried.Messages).State);
        Assert.Equal(2, _webhook.Received.Count);
        Assert.Single(_webhook.Acknowledged);
        Assert.Equal(_webhook.Received[0].IdempotencyKey, _webhook.Received[1].IdempotencyKey);
    }

    [Fact]
    public async Task A_message_whose_webhook_never_recovers_is_given_up_after_eight_attempts_and_kept()
    {
        await AppendPlainAsync("poison");
        _webhook.DefaultStatus = HttpStatusCode.InternalServerError;

        var states = new List<MessageState>();
        for (var run = 0; run < 10; run++)
        {
            var report = await _harness.FetchOnceAsync();
            states.AddRange(report.Messages.Select(m => m.State));
            _harness.Time.Advance(TimeSpan.FromHours(2));
        }

        Assert.Equal([.. Enumerable.Repeat(MessageState.Retry, 7), MessageState.Failed], states);
        Assert.Equal(8, _webhook.Received.Count);
        Assert.Single(await _dovecot.ListAsync(User, Password));
    }

    [Fact]
    public async Task A_webhook_that_refuses_for_good_is_recorded_and_the_rest_of_the_plan_still_runs()
    {
        await AppendDemosAsync(["smime-tampered"]);
        _webhook.RespondNext(1, HttpStatusCode.BadRequest);

        var report = await _harness.FetchOnceAsync();

        var message = Assert.Single(report.Messages);
        Assert.Equal(MessageState.Done, message.State);
        Assert.Contains(message.Actions, a => a.StartsWith("webhook", StringComparison.Ordinal) && a.Contains("failed", StringComparison.Ordinal) && a.Contains("400", StringComparison.Ordinal));
        Assert.Single(await _dovecot.ListAsync(User, Password, "Quarantine"));
    }

    [Fact]
    public async Task After_the_server_resets_UIDVALIDITY_known_messages_are_recognised_by_content_and_not_processed_again()
    {
        await AppendPlainAsync("before-reset-1");
        await AppendPlainAsync("before-reset-2");
        await _harness.FetchOnceAsync();
        var before = await UidValidityAsync();
        await _dovecot.StopAsync();
        var maildir = _dovecot.MaildirOf(User);
        foreach (var index in Directory.GetFiles(maildir, "dovecot*"))
        {
            File.Delete(index); // Without its uidlist and indexes Dovecot numbers the folder anew, with a new UIDVALIDITY.
        }

        await Task.Delay(TimeSpan.FromSeconds(1.1)); // Dovecot's UIDVALIDITY is the time in seconds.
        await _dovecot.RestartAsync();
        await AppendPlainAsync("after-reset");

        var report = await _harness.FetchOnceAsync();

        Assert.NotEqual(before, await UidValidityAsync());
        Assert.Null(report.Error);
        var fresh = Assert.Single(report.Messages);
        Assert.Equal("Question after-reset", fresh.Subject);
        Assert.Equal(3, _webhook.Acknowledged.Count);
    }

    [Fact]
    public async Task A_move_the_server_refuses_is_recorded_and_neither_blocks_the_plan_nor_the_mailbox()
    {
        _harness.AddRule("0-archive.yaml", """
            rules:
              - name: archive-by-year
                on: incoming
                then:
                  move: "Archive/2024"
            """);
        await AppendPlainAsync("first");
        await AppendPlainAsync("second");

        var report = await _harness.FetchOnceAsync();

        Assert.Null(report.Error);
        Assert.Equal(2, report.Messages.Count);
        Assert.All(report.Messages, m => Assert.Equal(MessageState.Done, m.State));
        Assert.All(report.Messages, m => Assert.Contains(m.Actions, a => a.StartsWith("move Archive/2024: skipped", StringComparison.Ordinal)));
        Assert.Equal(2, _webhook.Acknowledged.Count);
        Assert.Equal(2, await _dovecot.CountAsync(User, Password));
    }

    [Fact]
    public async Task A_webhook_still_due_after_a_UIDVALIDITY_reset_is_delivered_once()
    {
        await AppendDemosAsync(["smime-tampered"]);
        _webhook.DefaultStatus = HttpStatusCode.ServiceUnavailable;
        var first = await _harness.FetchOnceAsync();
        Assert.Equal(MessageState.Retry, Assert.Single(first.Messages).State);
        Assert.Single(await _dovecot.ListAsync(User, Password, "Quarantine"));

        await _dovecot.StopAsync();
        foreach (var index in Directory.GetFiles(_dovecot.MaildirOf(User), "dovecot*", SearchOption.AllDirectories))
        {
            File.Delete(index);
        }

        await Task.Delay(TimeSpan.FromSeconds(1.1));
        await _dovecot.RestartAsync();
        _webhook.DefaultStatus = HttpStatusCode.OK;
        _harness.Time.Advance(TimeSpan.FromMinutes(2));

        var second = await _harness.FetchOnceAsync();
        var third = await _harness.FetchOnceAsync();

        Assert.Null(second.Error);
        Assert.Contains(second.Messages, m => m.State == MessageState.Done);
        Assert.Empty(third.Messages);
        Assert.Single(_webhook.Acknowledged);
        Assert.Single(await _dovecot.ListAsync(User, Password, "Quarantine"));
    }

    [Fact]
    public async Task A_server_outage_is_reported_loses_nothing_and_recovers()
    {
        await AppendPlainAsync("before-outage");
        await _dovecot.StopAsync();

        var down = await _harness.FetchOnceAsync();

        Assert.NotNull(down.Error);
        Assert.Contains("connection refused", down.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(_webhook.Received);

        await _dovecot.RestartAsync();
        var up = await _harness.FetchOnceAsync();

        Assert.Null(up.Error);
        Assert.Single(up.Messages);
        Assert.Single(_webhook.Acknowledged);
    }

    [Fact]
    public async Task A_refused_login_is_one_clear_line_without_the_password()
    {
        _harness.Environment["PW_SUPPORT"] = "wrong-password";

        var report = await _harness.FetchOnceAsync();

        Assert.NotNull(report.Error);
        Assert.Contains("refused the login", report.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-password", report.Error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', report.Error);
    }

    [Fact]
    public async Task Quarantine_does_not_wait_for_a_webhook_that_is_down_and_the_webhook_follows_later()
    {
        await AppendDemosAsync(["smime-tampered"]);
        _webhook.RespondNext(1, HttpStatusCode.BadGateway);

        var first = await _harness.FetchOnceAsync();

        Assert.Equal(MessageState.Retry, Assert.Single(first.Messages).State);
        Assert.Single(await _dovecot.ListAsync(User, Password, "Quarantine"));
        Assert.Empty(_webhook.Acknowledged);

        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        var second = await _harness.FetchOnceAsync();
        var third = await _harness.FetchOnceAsync();

        var finished = Assert.Single(second.Messages);
        Assert.Equal(MessageState.Done, finished.State);
        Assert.Contains("move Quarantine: done", finished.Actions);
        Assert.Single(_webhook.Acknowledged);
        Assert.Empty(third.Messages);
        Assert.Single(await _dovecot.ListAsync(User, Password, "Quarantine"));
    }

    [Fact]
    public async Task A_notice_is_sent_once_through_the_accounts_send_transport()
    {
        var account = _harness.Accounts[0];
        account.Send = new Configuration.SendConfig { Outbox = _harness.Folder.File("outbox"), Pickup = _harness.Folder.File("pickup") };
        _harness.AddRule("0-notify.yaml", """
            rules:
              - name: tell-the-admin-about-failures
                on: incoming
                when:
                  security.sign.success: false
                then:
                  notify: admin@rulemail.test
            """);
        await AppendDemosAsync(["smime-tampered", "plain"]);

        await _harness.FetchOnceAsync();
        await _harness.FetchOnceAsync();

        var notice = Assert.Single(Directory.GetFiles(_harness.Folder.File("pickup")));
        var message = await MimeMessage.LoadAsync(notice);
        Assert.Equal("admin@rulemail.test", message.To.Mailboxes.Single().Address);
        Assert.Equal("support@rulemail.test", message.From.Mailboxes.Single().Address);
        Assert.Equal("auto-generated", message.Headers["Auto-Submitted"]);
        Assert.Contains("signature verification failed", message.TextBody, StringComparison.Ordinal);
    }

    private async Task<uint> UidValidityAsync()
    {
        using var client = await _dovecot.ConnectImapAsync(User, Password);
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
        var validity = client.Inbox.UidValidity;
        await client.DisconnectAsync(true);
        return validity;
    }


    private async Task AppendDemosAsync(IEnumerable<string> names)
    {
        foreach (var name in names)
        {
            await _dovecot.AppendAsync(User, Password, HostHarness.DemoMessage(name));
        }
    }

    private Task AppendPlainAsync(string id) => _dovecot.AppendAsync(User, Password, HostHarness.PlainQuestion(id));
}
