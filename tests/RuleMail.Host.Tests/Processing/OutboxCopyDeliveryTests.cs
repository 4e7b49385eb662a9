using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using RuleMail.Host.Configuration;
using RuleMail.Host.Processing;
using RuleMail.Host.Scheduling;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Processing;

/// <summary>
/// Exactly once per copy: a message with Bcc recipients goes out as one copy for To/Cc and one per Bcc recipient, and
/// the ledger records each copy the server accepted, so a 4xx, a refused Bcc copy, a release or a crash part-way never
/// sends a copy that went out before — only the ones still missing. Real SMTP server (or pickup folder), SQLite state.
/// </summary>
public sealed class OutboxCopyDeliveryTests
{
    private const string Account = "support";
    private const string Alice = "Alice <alice@customer.test>";
    private const string Body = "Your ticket #4711 was solved.\nKind regards, Support";
    private static readonly CancellationToken Ct = CancellationToken.None;
    private static readonly string[] ToAlice = ["alice@customer.test"];
    private static readonly string[] ToCarol = ["carol@both.test"];
    private static readonly string[] ToBob = ["bob@partner.test"];

    [Fact]
    public async Task A_4xx_on_the_bcc_copy_after_the_to_copy_went_out_sends_only_the_bcc_copy_at_the_next_attempt()
    {
        using var harness = HostHarness.Create();
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        var raw = outbox.Drop("0001.eml", OutboxFolder.Mail(Alice, "Ticket #4711 solved", Body, null, "Bcc: Carol <carol@both.test>", "X-RuleMail-Encrypt: yes"));
        sink.RejectRecipient("carol@both.test", 450, "4.2.1 mailbox busy");
        await using var runtime = await harness.OpenAsync();

        var first = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Contains("450", first.Error, StringComparison.Ordinal);
        var waiting = Assert.Single(first.Messages);
        Assert.Equal(OutboxState.Queued, waiting.State);
        Assert.Equal(ToAlice, Assert.Single(sink.Messages).RcptTo);
        var entry = await LedgerAsync(runtime, "0001.eml", raw);
        Assert.Equal((OutboxState.Queued, 1), (entry.State, entry.Attempts));
        Assert.Equal(["main"], entry.Delivered);
        Assert.EndsWith("; sent to To/Cc so far, the rest goes at the next attempt", entry.Reason, StringComparison.Ordinal);
        Assert.Equal(entry.Reason, waiting.Reason);
        Assert.Equal(["0001.eml"], outbox.Pending);

        sink.AcceptRecipient("carol@both.test");
        harness.Time.Advance(runtime.Services.Retry.Delay(1) + TimeSpan.FromSeconds(1));
        var second = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Null(second.Error);
        Assert.Equal(OutboxState.Sent, Assert.Single(second.Messages).State);
        var received = sink.Messages;
        Assert.Equal(2, received.Count);
        Assert.Single(received, m => m.RcptTo.SequenceEqual(ToAlice)); // The customer got it once.
        var toCarol = Assert.Single(received, m => m.RcptTo.SequenceEqual(ToCarol));
        Assert.Equal(received[0].Message.MessageId, toCarol.Message.MessageId);
        entry = await LedgerAsync(runtime, "0001.eml", raw);
        Assert.Equal(OutboxState.Sent, entry.State);
        Assert.Equal(["main", "bcc:carol@both.test"], entry.Delivered);
        Assert.Equal(["0001.eml"], outbox.In(OutboxSender.SentFolder));

        harness.Time.Advance(TimeSpan.FromHours(2));
        Assert.Empty((await runtime.Accounts[0].SendAsync(null, Ct)).Messages);
        Assert.Equal(2, sink.Messages.Count);
    }

    [Fact]
    public async Task A_refused_bcc_copy_fails_the_message_saying_what_went_out_and_a_release_sends_only_the_rest()
    {
        using var harness = HostHarness.Create();
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        var raw = outbox.Drop("0002.eml", OutboxFolder.Mail(
            Alice, "Ticket #4712 solved", Body, null, "Bcc: Carol <carol@both.test>, Bob <bob@partner.test>", "X-RuleMail-Encrypt: no"));
        sink.RejectRecipient("bob@partner.test", 550, "5.1.1 no such user");
        await using var runtime = await harness.OpenAsync();

        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Null(report.Error);
        var failed = Assert.Single(report.Messages);
        Assert.Equal(OutboxState.Failed, failed.State);
        Assert.StartsWith("sent to To/Cc and 1 of 2 Bcc copies; the copy for bcc bob@partner.test was refused: ", failed.Reason, StringComparison.Ordinal);
        Assert.EndsWith("550 5.1.1 no such user", failed.Reason, StringComparison.Ordinal);
        Assert.Equal(2, sink.Messages.Count);
        Assert.Single(sink.Messages, m => m.RcptTo.SequenceEqual(ToAlice));
        Assert.Single(sink.Messages, m => m.RcptTo.SequenceEqual(ToCarol));
        Assert.Equal(["0002.eml"], outbox.In(OutboxSender.FailedFolder));
        var entry = await LedgerAsync(runtime, "0002.eml", raw);
        Assert.Equal((OutboxState.Failed, failed.Reason, (DateTimeOffset?)null), (entry.State, entry.Reason, entry.NextAttempt));
        Assert.Equal(["main", "bcc:carol@both.test"], entry.Delivered);

        // The address is fixed at the server; the operator releases the message (POST /api/v1/outbox/0002/release).
        sink.AcceptRecipient("bob@partner.test");
        using var outboxes = new Outboxes(runtime.Services, new SendTrigger(null, NullLogger<SendTrigger>.Instance));
        var released = await outboxes.ReleaseAsync("0002", Account, "test", Ct);
        Assert.True(released.Item is not null, released.Detail);
        Assert.Equal(["main", "bcc:carol@both.test"], (await LedgerAsync(runtime, "0002.eml", raw)).Delivered);

        var again = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Null(again.Error);
        Assert.Equal(OutboxState.Sent, Assert.Single(again.Messages).State);
        var received = sink.Messages;
        Assert.Equal(3, received.Count);
        Assert.Single(received, m => m.RcptTo.SequenceEqual(ToAlice));
        Assert.Single(received, m => m.RcptTo.SequenceEqual(ToCarol));
        Assert.Equal("Ticket #4712 solved", Assert.Single(received, m => m.RcptTo.SequenceEqual(ToBob)).Message.Subject);
        entry = await LedgerAsync(runtime, "0002.eml", raw);
        Assert.Equal(OutboxState.Sent, entry.State);
        Assert.Equal(["main", "bcc:carol@both.test", "bcc:bob@partner.test"], entry.Delivered);
        Assert.Equal(["0002.eml"], outbox.In(OutboxSender.SentFolder));
    }

    [Fact]
    public async Task Pickup_after_a_crash_between_copies_writes_only_the_missing_copy_though_the_collector_took_the_first()
    {
        using var harness = HostHarness.Create();
        var pickup = harness.Folder.File("pickup");
        var outbox = AddAccount(harness, new SendConfig { Pickup = pickup });
        var raw = outbox.Drop("0003.eml", OutboxFolder.Mail(Alice, "Crashed between copies", Body, null, "Bcc: Carol <carol@both.test>", "X-RuleMail-Encrypt: yes"));
        await using var runtime = await harness.OpenAsync();

        // The To/Cc copy was written and recorded, then the process died; the collector has taken the file away since,
        // so only the ledger still knows it went out.
        await runtime.Services.State.SaveOutboxAsync(new OutboxEntry
        {
            Account = Account, FileName = "0003.eml", ContentHash = OutboxFolder.Hash(raw), State = OutboxState.Sending,
            Delivered = ["main"], UpdatedAt = harness.Time.GetUtcNow(),
        }, Ct);

        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Null(report.Error);
        Assert.Equal(OutboxState.Sent, Assert.Single(report.Messages).State);
        var written = Assert.Single(Directory.GetFiles(pickup));
        Assert.Contains(".bcc-", Path.GetFileName(written), StringComparison.Ordinal);
        Assert.StartsWith("X-Sender: <support@rulemail.test>\r\nX-Receiver: <carol@both.test>\r\n", Encoding.UTF8.GetString(await File.ReadAllBytesAsync(written)), StringComparison.Ordinal);
        var entry = await LedgerAsync(runtime, "0003.eml", raw);
        Assert.Equal(OutboxState.Sent, entry.State);
        Assert.Equal(["main", "bcc:carol@both.test"], entry.Delivered);
        Assert.Equal(["0003.eml"], outbox.In(OutboxSender.SentFolder));
    }

    [Fact]
    public async Task Pickup_after_a_crash_before_a_written_copy_was_recorded_counts_that_copy_and_writes_only_the_other()
    {
        using var harness = HostHarness.Create();
        var pickup = harness.Folder.File("pickup");
        var outbox = AddAccount(harness, new SendConfig { Pickup = pickup });
        var raw = outbox.Drop("0004.eml", OutboxFolder.Mail(Alice, "Crashed after writing", Body, null, "Bcc: Carol <carol@both.test>", "X-RuleMail-Encrypt: yes"));
        await using var runtime = await harness.OpenAsync();
        Assert.Equal(OutboxState.Sent, Assert.Single((await runtime.Accounts[0].SendAsync(null, Ct)).Messages).State);
        var files = Directory.GetFiles(pickup).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, files.Count);
        var main = Assert.Single(files, f => !f.Contains(".bcc-", StringComparison.Ordinal));
        var mainBytes = await File.ReadAllBytesAsync(main);

        // The crash: the To/Cc file was written but not recorded, the Bcc copy never written (the collector took nothing yet).
        File.Delete(Assert.Single(files, f => f != main));
        outbox.PutBack(OutboxSender.SentFolder, "0004.eml");
        var entry = await LedgerAsync(runtime, "0004.eml", raw);
        await runtime.Services.State.SaveOutboxAsync(entry with { State = OutboxState.Sending, Delivered = [], Reason = null }, Ct);

        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Equal(OutboxState.Sent, Assert.Single(report.Messages).State);
        Assert.Equal(files, Directory.GetFiles(pickup).Order(StringComparer.Ordinal));
        Assert.Equal(mainBytes, await File.ReadAllBytesAsync(main)); // Not rewritten (a new encryption would differ).
        Assert.Equal(["main", "bcc:carol@both.test"], (await LedgerAsync(runtime, "0004.eml", raw)).Delivered);
    }

    [Fact]
    public async Task What_went_out_of_a_file_before_never_counts_for_new_content_under_the_same_name()
    {
        using var harness = HostHarness.Create();
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        var old = Encoding.UTF8.GetBytes(OutboxFolder.Mail(Alice, "Old draft", Body, null, "Bcc: Carol <carol@both.test>"));
        var raw = outbox.Drop("0005.eml", OutboxFolder.Mail(Alice, "New draft", Body, null, "Bcc: Carol <carol@both.test>"));
        await using var runtime = await harness.OpenAsync();
        await runtime.Services.State.SaveOutboxAsync(new OutboxEntry
        {
            Account = Account, FileName = "0005.eml", ContentHash = OutboxFolder.Hash(old), State = OutboxState.Failed,
            Delivered = ["main"], UpdatedAt = harness.Time.GetUtcNow(),
        }, Ct);

        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Equal(OutboxState.Sent, Assert.Single(report.Messages).State);
        Assert.Equal(2, sink.Messages.Count);
        Assert.All(sink.Messages, m => Assert.Equal("New draft", m.Message.Subject));
        Assert.Single(sink.Messages, m => m.RcptTo.SequenceEqual(ToAlice));
        Assert.Equal(["main", "bcc:carol@both.test"], (await LedgerAsync(runtime, "0005.eml", raw)).Delivered);
        Assert.Equal(["main"], (await LedgerAsync(runtime, "0005.eml", old)).Delivered); // The old entry stays as it was.
    }

    private static OutboxFolder SmtpAccount(HostHarness harness, SmtpSink sink) =>
        AddAccount(harness, new SendConfig { Smtp = new ServerConfig { Host = sink.Host, Port = sink.Port, Security = "none" } });

    private static OutboxFolder AddAccount(HostHarness harness, SendConfig send)
    {
        var outbox = harness.Folder.File("outbox");
        send.Outbox = outbox;
        send.Every = "30s";
        harness.Accounts.Add(new AccountConfig { Name = Account, Address = "support@rulemail.test", Send = send });
        return new OutboxFolder(outbox);
    }

    private static async Task<OutboxEntry> LedgerAsync(HostRuntime runtime, string fileName, byte[] raw) =>
        await runtime.Services.State.FindOutboxAsync(Account, fileName, OutboxFolder.Hash(raw), Ct)
        ?? throw new Xunit.Sdk.XunitException($"no ledger entry for {fileName}");
}
