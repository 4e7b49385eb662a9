using System.Text;
using MimeKit;
using MimeKit.Cryptography;
using RuleMail.Crypto;
using RuleMail.Host.Configuration;
using RuleMail.Host.Scheduling;
using RuleMail.Host.Processing;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Processing;

/// <summary>
/// The send job end to end: outbox files from the ticket system, the shipped outgoing rules and the sample key
/// store, a real SMTP server (or a pickup folder), SQLite state and a fake clock. Every outbox message is sent
/// exactly once or held/failed with its reason, never sent as plaintext when encryption was required, its
/// <c>X-RuleMail-*</c> choice headers never leave, and no file is ever deleted.
/// </summary>
public sealed class OutboxSenderTests
{
    private const string Account = "support";
    private const string OurAddress = "support@rulemail.test";
    private const string Alice = "Alice <alice@customer.test>";
    private const string Bob = "Bob <bob@partner.test>";
    private const string Carol = "Carol <carol@both.test>";
    private const string Nobody = "Nobody <nobody@nowhere.test>";
    private const string Body = "Your ticket #4711 was solved.\nKind regards, Support";
    private static readonly CancellationToken Ct = CancellationToken.None;

    [Fact]
    public async Task Mail_to_an_smime_correspondent_is_signed_and_encrypted_sent_once_and_filed_in_sent()
    {
        using var harness = HostHarness.Create();
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        var raw = outbox.Drop("0001.eml", OutboxFolder.Mail(Alice, "Ticket #4711 solved", Body));
        await using var runtime = await harness.OpenAsync();

        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Null(report.Error);
        var sent = Assert.Single(report.Messages);
        Assert.Equal(("0001.eml", OutboxState.Sent, "signed and encrypted with S/MIME"), (sent.FileName, sent.State, sent.Reason));
        var received = Assert.Single(sink.Messages);
        Assert.Equal(OurAddress, received.MailFrom);
        Assert.Equal(["alice@customer.test"], received.RcptTo);
        Assert.Equal("Ticket #4711 solved", received.Message.Subject);
        AssertNoOwnHeaders(received);
        var envelope = Assert.IsType<ApplicationPkcs7Mime>(received.Message.Body);
        Assert.Equal("application/pkcs7-mime", envelope.ContentType.MimeType);
        Assert.Equal(SecureMimeType.EnvelopedData, envelope.SecureMimeType);

        // Alice's key is not ours, but encrypt_to_sender (on by default) lets our own key read the sent copy.
        var inspected = new IncomingSecurity(runtime.Services.Store).Inspect(received.Message, OurAddress);
        Assert.Equal(SecurityResult.SmimeType, inspected.Security.Type);
        Assert.True(inspected.Security.Encryption?.Success, inspected.Security.Encryption?.Comment);
        Assert.True(inspected.Security.Sign?.Success, inspected.Security.Sign?.Comment);
        var text = inspected.Message.TextBody;
        Assert.NotNull(text);
        Assert.Equal(Body.ReplaceLineEndings("\n"), text.ReplaceLineEndings("\n").TrimEnd('\n'));

        // No Message-ID in the file: one derived from the content (the same file gives the same one, so a repeat would
        // be recognisable), in the sender's domain.
        Assert.Matches("^[0-9a-f]{32}@rulemail[.]test$", received.Message.MessageId);
        var same = runtime.Services.Outgoing.ProcessSubmitted(MimeMessage.Load(new MemoryStream(raw)), OurAddress);
        Assert.Equal(received.Message.MessageId, same.Copies[0].Message.MessageId);

        Assert.Empty(outbox.Pending);
        Assert.Equal(["0001.eml"], outbox.In(OutboxSender.SentFolder));
        Assert.Equal(raw, outbox.Read(OutboxSender.SentFolder, "0001.eml"));
        var entry = await LedgerAsync(runtime, "0001.eml", raw);
        Assert.Equal(OutboxState.Sent, entry.State);
        Assert.Equal(received.Message.MessageId, entry.MessageId);
        Assert.Equal("signed and encrypted with S/MIME", entry.Reason);

        var again = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Null(again.Error);
        Assert.Empty(again.Messages);
        Assert.Single(sink.Messages);
        Assert.Equal(OutboxState.Sent, (await LedgerAsync(runtime, "0001.eml", raw)).State);
    }

    [Fact]
    public async Task Mail_to_a_pgp_correspondent_is_sent_as_pgp_mime_signed_and_encrypted()
    {
        using var harness = HostHarness.Create();
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        var raw = outbox.Drop("bob.eml", OutboxFolder.Mail(Bob, "Partner update", Body, messageId: "partner-1@rulemail.test"));
        await using var runtime = await harness.OpenAsync();

        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Null(report.Error);
        Assert.Equal(OutboxState.Sent, Assert.Single(report.Messages).State);
        var received = Assert.Single(sink.Messages);
        Assert.Equal(["bob@partner.test"], received.RcptTo);
        Assert.Equal("partner-1@rulemail.test", received.Message.MessageId);
        AssertNoOwnHeaders(received);
        var encrypted = Assert.IsType<MultipartEncrypted>(received.Message.Body);
        Assert.Equal("multipart/encrypted", encrypted.ContentType.MimeType);
        Assert.Equal("application/pgp-encrypted", encrypted.ContentType.Parameters["protocol"]);

        var inspected = new IncomingSecurity(runtime.Services.Store).Inspect(received.Message, OurAddress);
        Assert.Equal(SecurityResult.PgpType, inspected.Security.Type);
        Assert.True(inspected.Security.Encryption?.Success, inspected.Security.Encryption?.Comment);
        Assert.True(inspected.Security.Sign?.Success, inspected.Security.Sign?.Comment);
        Assert.Contains("ticket #4711", inspected.Message.TextBody, StringComparison.Ordinal);

        Assert.Equal(["bob.eml"], outbox.In(OutboxSender.SentFolder));
        var entry = await LedgerAsync(runtime, "bob.eml", raw);
        Assert.Equal((OutboxState.Sent, "signed and encrypted with PGP"), (entry.State, entry.Reason));
    }

    [Fact]
    public async Task The_type_header_chooses_pgp_for_a_correspondent_with_both_and_the_choice_headers_never_leave()
    {
        using var harness = HostHarness.Create();
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        outbox.Drop("carol.eml", OutboxFolder.Mail(Carol, "Both kinds", Body, null, "X-RuleMail-Type: pgp", "X-RuleMail-Sign: yes", "X-RuleMail-Encrypt: yes"));
        await using var runtime = await harness.OpenAsync();

        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Equal(("carol.eml", OutboxState.Sent, "signed and encrypted with PGP"), (report.Messages[0].FileName, report.Messages[0].State, report.Messages[0].Reason));
        var received = Assert.Single(sink.Messages);
        AssertNoOwnHeaders(received);
        Assert.IsType<MultipartEncrypted>(received.Message.Body);
        var inspected = new IncomingSecurity(runtime.Services.Store).Inspect(received.Message, OurAddress);
        Assert.Equal((SecurityResult.PgpType, true, true), (inspected.Security.Type, inspected.Security.Encryption?.Success, inspected.Security.Sign?.Success));
    }

    [Fact]
    public async Task Encryption_chosen_for_a_recipient_without_a_key_is_held_with_its_reason_and_never_sent()
    {
        using var harness = HostHarness.Create();
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        var raw = outbox.Drop("secret.eml", OutboxFolder.Mail(Nobody, "Secret", "Do not send me in plaintext.", null, "X-RuleMail-Encrypt: yes"));
        await using var runtime = await harness.OpenAsync();

        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Null(report.Error);
        var held = Assert.Single(report.Messages);
        Assert.Equal(OutboxState.Held, held.State);
        Assert.StartsWith("cannot encrypt with S/MIME", held.Reason, StringComparison.Ordinal);
        Assert.Empty(sink.Messages);
        Assert.Empty(outbox.Pending);
        Assert.Empty(outbox.In(OutboxSender.SentFolder));
        Assert.Equal(["secret.eml"], outbox.In(OutboxSender.HeldFolder));
        Assert.Equal(raw, outbox.Read(OutboxSender.HeldFolder, "secret.eml")); // Kept as dropped, choice headers and all.
        var entry = await LedgerAsync(runtime, "secret.eml", raw);
        Assert.Equal((OutboxState.Held, held.Reason), (entry.State, entry.Reason));

        // A person moves it back (still no key): held again, still nothing sent.
        File.Move(Path.Combine(outbox.Path, OutboxSender.HeldFolder, "secret.eml"), Path.Combine(outbox.Path, "secret.eml"));
        var again = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Equal(OutboxState.Held, Assert.Single(again.Messages).State);
        Assert.Empty(sink.Messages);
        Assert.Empty(outbox.Pending);
        Assert.Equal(["secret.eml"], outbox.In(OutboxSender.HeldFolder));
        Assert.Equal(raw, outbox.Read(OutboxSender.HeldFolder, "secret.eml"));
    }

    [Fact]
    public async Task A_rule_requiring_encryption_holds_mail_it_cannot_encrypt_and_cannot_be_switched_off_by_a_header()
    {
        using var harness = HostHarness.Create();
        harness.AddRule("60-nowhere-requires-encryption.yaml", """
            rules:
              - name: nowhere-requires-encryption
                on: outgoing
                when:
                  to.domain: nowhere.test
                then:
                  encrypt: required
            """);
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        var required = outbox.Drop("1-required.eml", OutboxFolder.Mail(Nobody, "Required", "Only encrypted, please."));
        var switchedOff = outbox.Drop("2-switched-off.eml", OutboxFolder.Mail(Nobody, "Switched off", "Plaintext, please.", null, "X-RuleMail-Encrypt: no"));
        outbox.Drop("3-alice.eml", OutboxFolder.Mail(Alice, "Not concerned", Body));
        await using var runtime = await harness.OpenAsync();
        Assert.Empty(runtime.Services.Rules.Errors);

        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Null(report.Error);
        var byFile = report.Messages.ToDictionary(m => m.FileName);
        Assert.Equal(OutboxState.Held, byFile["1-required.eml"].State);
        Assert.StartsWith("cannot encrypt with S/MIME", byFile["1-required.eml"].Reason, StringComparison.Ordinal);
        Assert.Equal(OutboxState.Held, byFile["2-switched-off.eml"].State);
        Assert.Equal("the outgoing rules require encryption; it cannot be switched off", byFile["2-switched-off.eml"].Reason);
        Assert.Equal(OutboxState.Sent, byFile["3-alice.eml"].State);

        var received = Assert.Single(sink.Messages);
        Assert.Equal(["alice@customer.test"], received.RcptTo);
        Assert.Equal(["1-required.eml", "2-switched-off.eml"], outbox.In(OutboxSender.HeldFolder));
        Assert.Equal(["3-alice.eml"], outbox.In(OutboxSender.SentFolder));
        Assert.Equal(OutboxState.Held, (await LedgerAsync(runtime, "1-required.eml", required)).State);
        Assert.Equal(OutboxState.Held, (await LedgerAsync(runtime, "2-switched-off.eml", switchedOff)).State);
    }

    [Fact]
    public async Task Choosing_neither_signing_nor_encryption_sends_plain_without_the_choice_headers()
    {
        using var harness = HostHarness.Create();
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        var raw = outbox.Drop("plain.eml", OutboxFolder.Mail(Alice, "Plain on purpose", Body, "plain-1@rulemail.test", "X-RuleMail-Encrypt: no", "x-rulemail-sign: NO"));
        await using var runtime = await harness.OpenAsync();

        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Equal((OutboxState.Sent, "neither signed nor encrypted"), (Assert.Single(report.Messages).State, report.Messages[0].Reason));
        var received = Assert.Single(sink.Messages);
        AssertNoOwnHeaders(received);
        var text = Assert.IsType<TextPart>(received.Message.Body);
        Assert.Equal("text/plain", text.ContentType.MimeType);
        Assert.Contains("ticket #4711", text.Text, StringComparison.Ordinal);
        Assert.Equal("plain-1@rulemail.test", received.Message.MessageId);
        Assert.Equal(SecurityResult.None, new IncomingSecurity(runtime.Services.Store).Inspect(received.Message, OurAddress).Security);
        Assert.Equal(OutboxState.Sent, (await LedgerAsync(runtime, "plain.eml", raw)).State);
        Assert.Equal(["plain.eml"], outbox.In(OutboxSender.SentFolder));
    }

    [Fact]
    public async Task An_invalid_or_misspelt_choice_header_holds_the_message_with_that_reason()
    {
        using var harness = HostHarness.Create();
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        var maybe = outbox.Drop("maybe.eml", OutboxFolder.Mail(Alice, "Maybe", Body, null, "X-RuleMail-Encrypt: maybe"));
        var typo = outbox.Drop("typo.eml", OutboxFolder.Mail(Nobody, "Typo", Body, null, "X-RuleMail-Encrpyt: yes"));
        await using var runtime = await harness.OpenAsync();

        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Null(report.Error);
        var byFile = report.Messages.ToDictionary(m => m.FileName);
        Assert.Equal((OutboxState.Held, "X-RuleMail-Encrypt: 'maybe' is not yes or no"), (byFile["maybe.eml"].State, byFile["maybe.eml"].Reason));
        Assert.Equal(OutboxState.Held, byFile["typo.eml"].State);
        Assert.StartsWith("X-RuleMail-Encrpyt: not a RuleMail header", byFile["typo.eml"].Reason, StringComparison.Ordinal);
        Assert.Empty(sink.Messages);
        Assert.Equal(["maybe.eml", "typo.eml"], outbox.In(OutboxSender.HeldFolder));
        var entry = await LedgerAsync(runtime, "maybe.eml", maybe);
        Assert.Equal((OutboxState.Held, "X-RuleMail-Encrypt: 'maybe' is not yes or no"), (entry.State, entry.Reason));
        Assert.Equal(OutboxState.Held, (await LedgerAsync(runtime, "typo.eml", typo)).State);
    }

    [Fact]
    public async Task With_smtp_down_the_file_waits_in_the_outbox_and_is_sent_once_after_the_backoff()
    {
        using var harness = HostHarness.Create();
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        var raw = outbox.Drop("down.eml", OutboxFolder.Mail(Alice, "While down", Body));
        await using var runtime = await harness.OpenAsync();
        await sink.StopAsync();

        var failed = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.NotNull(failed.Error);
        Assert.Contains("connection refused", failed.Error, StringComparison.Ordinal);
        var attempt = Assert.Single(failed.Messages);
        Assert.Equal(OutboxState.Queued, attempt.State);
        Assert.Equal(["down.eml"], outbox.Pending);
        var entry = await LedgerAsync(runtime, "down.eml", raw);
        Assert.Equal((OutboxState.Queued, 0), (entry.State, entry.Attempts)); // An outage uses up none of the message's attempts.
        Assert.Contains("connection refused", entry.Reason, StringComparison.Ordinal);
        Assert.Equal(harness.Time.GetUtcNow() + runtime.Services.Retry.Delay(1), entry.NextAttempt);
        Assert.Equal(entry.NextAttempt, attempt.NextAttempt);

        // Not yet due: left alone (the server is not even asked).
        await sink.RestartAsync();
        var early = await runtime.Accounts[0].SendAsync(null, Ct);
        Assert.Null(early.Error);
        Assert.Empty(early.Messages);
        Assert.Equal(1, early.Waiting);
        Assert.Empty(sink.Messages);
        Assert.Equal(["down.eml"], outbox.Pending);

        harness.Time.Advance(runtime.Services.Retry.Delay(1) + TimeSpan.FromSeconds(1));
        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Null(report.Error);
        Assert.Equal(OutboxState.Sent, Assert.Single(report.Messages).State);
        Assert.Single(sink.Messages);
        Assert.Empty(outbox.Pending);
        Assert.Equal(["down.eml"], outbox.In(OutboxSender.SentFolder));
        entry = await LedgerAsync(runtime, "down.eml", raw);
        Assert.Equal((OutboxState.Sent, (DateTimeOffset?)null), (entry.State, entry.NextAttempt));

        harness.Time.Advance(TimeSpan.FromHours(2));
        Assert.Empty((await runtime.Accounts[0].SendAsync(null, Ct)).Messages);
        Assert.Single(sink.Messages);
    }

    [Fact]
    public async Task A_temporary_smtp_failure_is_retried_later_and_sent_once()
    {
        using var harness = HostHarness.Create();
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        var raw = outbox.Drop("busy.eml", OutboxFolder.Mail(Alice, "Server busy", Body));
        await using var runtime = await harness.OpenAsync();
        sink.FailNext(1, 451);

        var failed = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.NotNull(failed.Error);
        Assert.Contains("451", failed.Error, StringComparison.Ordinal);
        Assert.Equal(OutboxState.Queued, Assert.Single(failed.Messages).State);
        Assert.Empty(sink.Messages);
        Assert.Equal(["busy.eml"], outbox.Pending);
        var entry = await LedgerAsync(runtime, "busy.eml", raw);
        Assert.Equal((OutboxState.Queued, 1), (entry.State, entry.Attempts));
        Assert.NotNull(entry.NextAttempt);

        harness.Time.Advance(runtime.Services.Retry.Delay(1) + TimeSpan.FromSeconds(1));
        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Null(report.Error);
        Assert.Equal(OutboxState.Sent, Assert.Single(report.Messages).State);
        var received = Assert.Single(sink.Messages);
        Assert.Equal("Server busy", received.Message.Subject);
        Assert.Equal(["busy.eml"], outbox.In(OutboxSender.SentFolder));
        Assert.Equal(OutboxState.Sent, (await LedgerAsync(runtime, "busy.eml", raw)).State);

        harness.Time.Advance(TimeSpan.FromHours(2));
        Assert.Empty((await runtime.Accounts[0].SendAsync(null, Ct)).Messages);
        Assert.Single(sink.Messages);
    }

    [Fact]
    public async Task A_long_smtp_outage_never_gives_a_message_up()
    {
        using var harness = HostHarness.Create();
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        var raw = outbox.Drop("weekend.eml", OutboxFolder.Mail(Alice, "Over the weekend", Body));
        await using var runtime = await harness.OpenAsync();
        await sink.StopAsync();

        // Far more runs than a message's attempts: the server being unreachable is no fault of the message.
        for (var run = 0; run < runtime.Services.Retry.MaxAttempts * 2; run++)
        {
            var report = await runtime.Accounts[0].SendAsync(null, Ct);
            Assert.NotNull(report.Error);
            Assert.Equal(["weekend.eml"], outbox.Pending);
            harness.Time.Advance(runtime.Services.Retry.MaxDelay + TimeSpan.FromSeconds(1));
        }

        Assert.Empty(outbox.In(OutboxSender.FailedFolder));
        Assert.Equal(OutboxState.Queued, (await LedgerAsync(runtime, "weekend.eml", raw)).State);

        await sink.RestartAsync();
        var sent = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Null(sent.Error);
        Assert.Equal(OutboxState.Sent, Assert.Single(sent.Messages).State);
        Assert.Single(sink.Messages);
        Assert.Equal(["weekend.eml"], outbox.In(OutboxSender.SentFolder));
    }

    [Fact]
    public async Task A_message_the_server_keeps_refusing_for_now_is_given_up_after_its_attempts_and_filed_in_failed()
    {
        using var harness = HostHarness.Create();
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        var raw = outbox.Drop("poison.eml", OutboxFolder.Mail(Alice, "Always refused for now", Body));
        await using var runtime = await harness.OpenAsync();
        var attempts = runtime.Services.Retry.MaxAttempts;
        sink.FailNext(attempts, 451);

        for (var run = 1; run < attempts; run++)
        {
            var report = await runtime.Accounts[0].SendAsync(null, Ct);
            Assert.Equal(OutboxState.Queued, Assert.Single(report.Messages).State);
            Assert.Equal(["poison.eml"], outbox.Pending);
            harness.Time.Advance(runtime.Services.Retry.MaxDelay + TimeSpan.FromSeconds(1));
        }

        var last = await runtime.Accounts[0].SendAsync(null, Ct);

        var failed = Assert.Single(last.Messages);
        Assert.Equal(OutboxState.Failed, failed.State);
        Assert.StartsWith($"gave up after {attempts} attempts", failed.Reason, StringComparison.Ordinal);
        Assert.Contains("451", failed.Reason, StringComparison.Ordinal);
        Assert.Empty(outbox.Pending);
        Assert.Equal(["poison.eml"], outbox.In(OutboxSender.FailedFolder));
        Assert.Equal(raw, outbox.Read(OutboxSender.FailedFolder, "poison.eml"));
        var entry = await LedgerAsync(runtime, "poison.eml", raw);
        Assert.Equal((OutboxState.Failed, attempts, (DateTimeOffset?)null), (entry.State, entry.Attempts, entry.NextAttempt));

        harness.Time.Advance(TimeSpan.FromDays(1));
        Assert.Empty((await runtime.Accounts[0].SendAsync(null, Ct)).Messages);
        Assert.Empty(sink.Messages);
    }

    [Fact]
    public async Task A_permanent_smtp_rejection_files_the_message_in_failed_with_the_reason_and_never_retries_it()
    {
        using var harness = HostHarness.Create();
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        var rejected = outbox.Drop("1-rejected.eml", OutboxFolder.Mail(Alice, "Rejected", Body));
        outbox.Drop("2-bob.eml", OutboxFolder.Mail(Bob, "After the rejection", Body));
        File.SetLastWriteTimeUtc(Path.Combine(outbox.Path, "1-rejected.eml"), new DateTime(2025, 6, 2, 10, 0, 0, DateTimeKind.Utc));
        File.SetLastWriteTimeUtc(Path.Combine(outbox.Path, "2-bob.eml"), new DateTime(2025, 6, 2, 10, 1, 0, DateTimeKind.Utc));
        sink.RejectRecipient("alice@customer.test", 550, "5.1.1 no such user");
        await using var runtime = await harness.OpenAsync();

        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Null(report.Error);
        Assert.Equal(["1-rejected.eml", "2-bob.eml"], report.Messages.Select(m => m.FileName));
        var failed = report.Messages[0];
        Assert.Equal(OutboxState.Failed, failed.State);
        Assert.Contains("550", failed.Reason, StringComparison.Ordinal);
        Assert.Null(failed.NextAttempt);
        Assert.Equal(OutboxState.Sent, report.Messages[1].State); // The session goes on after a refused recipient.
        Assert.Equal(["bob@partner.test"], Assert.Single(sink.Messages).RcptTo);
        Assert.Empty(outbox.Pending);
        Assert.Equal(["1-rejected.eml"], outbox.In(OutboxSender.FailedFolder));
        Assert.Equal(rejected, outbox.Read(OutboxSender.FailedFolder, "1-rejected.eml"));
        var entry = await LedgerAsync(runtime, "1-rejected.eml", rejected);
        Assert.Equal((OutboxState.Failed, failed.Reason, (DateTimeOffset?)null), (entry.State, entry.Reason, entry.NextAttempt));

        harness.Time.Advance(TimeSpan.FromDays(1));
        var later = await runtime.Accounts[0].SendAsync(null, Ct);
        Assert.Empty(later.Messages);
        Assert.Single(sink.Messages);
        Assert.Equal(["1-rejected.eml"], outbox.In(OutboxSender.FailedFolder));
    }

    [Fact]
    public async Task Pickup_writes_the_message_once_and_a_crash_in_the_sending_window_does_not_write_it_twice()
    {
        using var harness = HostHarness.Create();
        var pickup = harness.Folder.File("pickup");
        var outbox = AddAccount(harness, new SendConfig { Pickup = pickup });
        var raw = outbox.Drop("pickup.eml", OutboxFolder.Mail(Alice, "Via pickup", Body));
        await using var runtime = await harness.OpenAsync();

        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Null(report.Error);
        Assert.Equal($"pickup {pickup}", report.Destination);
        Assert.Equal((OutboxState.Sent, "signed and encrypted with S/MIME"), (Assert.Single(report.Messages).State, report.Messages[0].Reason));
        var written = Assert.Single(Directory.GetFiles(pickup)); // No temporary file left either.
        var bytes = await File.ReadAllBytesAsync(written);
        using var stream = new MemoryStream(bytes, writable: false);
        var delivered = MimeMessage.Load(stream);
        Assert.IsType<ApplicationPkcs7Mime>(delivered.Body);
        Assert.DoesNotContain("X-RuleMail-", Encoding.UTF8.GetString(bytes), StringComparison.OrdinalIgnoreCase);
        var entry = await LedgerAsync(runtime, "pickup.eml", raw);
        Assert.Equal((OutboxState.Sent, delivered.MessageId), (entry.State, entry.MessageId));

        // The crash: the pickup file was written but not recorded, the ledger still says sending and the file is still in the outbox.
        outbox.PutBack(OutboxSender.SentFolder, "pickup.eml");
        await runtime.Services.State.SaveOutboxAsync(entry with { State = OutboxState.Sending, Reason = null, Delivered = [] }, Ct);

        var recovered = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Null(recovered.Error);
        Assert.Equal(OutboxState.Sent, Assert.Single(recovered.Messages).State);
        Assert.Equal([written], Directory.GetFiles(pickup));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(written)); // Not rewritten (a new encryption would differ).
        Assert.Empty(outbox.Pending);
        Assert.Equal(2, outbox.In(OutboxSender.SentFolder).Count);
        Assert.Equal(OutboxState.Sent, (await LedgerAsync(runtime, "pickup.eml", raw)).State);
    }

    [Fact]
    public async Task Pickup_after_a_crash_before_the_file_was_written_writes_it_once()
    {
        using var harness = HostHarness.Create();
        var pickup = harness.Folder.File("pickup");
        var outbox = AddAccount(harness, new SendConfig { Pickup = pickup });
        var raw = outbox.Drop("late.eml", OutboxFolder.Mail(Bob, "Crashed before writing", Body));
        await using var runtime = await harness.OpenAsync();
        await runtime.Services.State.SaveOutboxAsync(new OutboxEntry
        {
            Account = Account, FileName = "late.eml", ContentHash = OutboxFolder.Hash(raw), State = OutboxState.Sending, UpdatedAt = harness.Time.GetUtcNow(),
        }, Ct);

        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Equal(OutboxState.Sent, Assert.Single(report.Messages).State);
        var written = Assert.Single(Directory.GetFiles(pickup));
        Assert.IsType<MultipartEncrypted>(MimeMessage.Load(written).Body);
        Assert.Equal(["late.eml"], outbox.In(OutboxSender.SentFolder));
        Assert.Equal(OutboxState.Sent, (await LedgerAsync(runtime, "late.eml", raw)).State);
    }

    [Fact]
    public async Task A_crash_in_the_smtp_sending_window_sends_again_with_the_same_message_id()
    {
        using var harness = HostHarness.Create();
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        var raw = outbox.Drop("window.eml", OutboxFolder.Mail(Alice, "In the window", Body));
        await using var runtime = await harness.OpenAsync();
        await runtime.Accounts[0].SendAsync(null, Ct);
        var entry = await LedgerAsync(runtime, "window.eml", raw);

        // SMTP accepted it, then the process died before the ledger recorded the copy: SMTP cannot tell, so it goes again.
        outbox.PutBack(OutboxSender.SentFolder, "window.eml");
        await runtime.Services.State.SaveOutboxAsync(entry with { State = OutboxState.Sending, Delivered = [] }, Ct);
        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Equal(OutboxState.Sent, Assert.Single(report.Messages).State);
        var received = sink.Messages;
        Assert.Equal(2, received.Count);
        Assert.Equal(received[0].Message.MessageId, received[1].Message.MessageId);
        Assert.Empty(outbox.Pending);
        Assert.Equal(OutboxState.Sent, (await LedgerAsync(runtime, "window.eml", raw)).State);
    }

    [Fact]
    public async Task A_file_already_sent_that_is_found_in_the_outbox_again_is_filed_not_sent_again()
    {
        using var harness = HostHarness.Create();
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        var raw = outbox.Drop("once.eml", OutboxFolder.Mail(Alice, "Only once", Body));
        await using var runtime = await harness.OpenAsync();
        Assert.Equal(OutboxState.Sent, Assert.Single((await runtime.Accounts[0].SendAsync(null, Ct)).Messages).State);

        // The crash between the ledger's "sent" and the move: the file is still in the outbox.
        outbox.PutBack(OutboxSender.SentFolder, "once.eml");
        var replay = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Null(replay.Error);
        Assert.Empty(replay.Messages);
        Assert.Single(sink.Messages);
        Assert.Empty(outbox.Pending);
        var filed = outbox.In(OutboxSender.SentFolder);
        Assert.Equal(2, filed.Count);
        Assert.All(filed, name => Assert.Equal(raw, outbox.Read(OutboxSender.SentFolder, name))); // Nothing lost or changed.
        Assert.Equal(OutboxState.Sent, (await LedgerAsync(runtime, "once.eml", raw)).State);

        // It happens again within the same millisecond: still filed, never sent, nothing overwritten.
        outbox.PutBack(OutboxSender.SentFolder, "once.eml");
        var again = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Empty(again.Messages);
        Assert.Single(sink.Messages);
        Assert.Empty(outbox.Pending);
        Assert.Equal(3, outbox.In(OutboxSender.SentFolder).Count);
    }

    [Fact]
    public async Task A_new_message_under_a_file_name_used_before_is_a_new_message_and_sent()
    {
        using var harness = HostHarness.Create();
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        var first = outbox.Drop("reply.eml", OutboxFolder.Mail(Alice, "First reply", Body));
        await using var runtime = await harness.OpenAsync();
        await runtime.Accounts[0].SendAsync(null, Ct);

        var second = outbox.Drop("reply.eml", OutboxFolder.Mail(Alice, "Second reply", Body));
        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Equal(OutboxState.Sent, Assert.Single(report.Messages).State);
        Assert.Equal(["First reply", "Second reply"], sink.Messages.Select(m => m.Message.Subject));
        Assert.NotEqual(sink.Messages[0].Message.MessageId, sink.Messages[1].Message.MessageId);
        var filed = outbox.In(OutboxSender.SentFolder);
        Assert.Equal(2, filed.Count);
        Assert.Equal(first, outbox.Read(OutboxSender.SentFolder, "reply.eml")); // The older one is kept, the new one beside it.
        Assert.Contains(filed, name => outbox.Read(OutboxSender.SentFolder, name).SequenceEqual(second));
        Assert.Equal(OutboxState.Sent, (await LedgerAsync(runtime, "reply.eml", first)).State);
        Assert.Equal(OutboxState.Sent, (await LedgerAsync(runtime, "reply.eml", second)).State);
    }

    [Fact]
    public async Task A_bcc_recipient_gets_a_copy_of_their_own_over_smtp_that_only_they_and_the_sender_can_open()
    {
        using var harness = HostHarness.Create();
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        outbox.Drop("0001.eml", OutboxFolder.Mail(Alice, "Ticket #4711 solved", Body, null, $"Bcc: {Carol}", "X-RuleMail-Encrypt: yes"));
        await using var runtime = await harness.OpenAsync();

        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Null(report.Error);
        var sent = Assert.Single(report.Messages);
        Assert.Equal(OutboxState.Sent, sent.State);
        Assert.Contains("1 Bcc copy of its own", sent.Reason, StringComparison.Ordinal);
        Assert.Equal(2, sink.Messages.Count);
        var toAlice = Assert.Single(sink.Messages, m => m.RcptTo.SequenceEqual(["alice@customer.test"]));
        var toCarol = Assert.Single(sink.Messages, m => m.RcptTo.SequenceEqual(["carol@both.test"]));
        Assert.DoesNotContain("carol", Encoding.UTF8.GetString(toAlice.Raw), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(toCarol.Message.Headers, h => h.Field.Equals("Bcc", StringComparison.OrdinalIgnoreCase)); // Not transmitted over SMTP.
        Assert.Equal(toAlice.Message.MessageId, toCarol.Message.MessageId);

        // Carol opens her copy with openssl and her own key; alice's copy is not for her.
        Assert.Contains("Your ticket #4711 was solved.", Decrypt(harness, toCarol.Raw, "carol").Text, StringComparison.Ordinal);
        Assert.NotEqual(0, Decrypt(harness, toAlice.Raw, "carol").ExitCode);
        var ours = new IncomingSecurity(runtime.Services.Store).Inspect(toCarol.Message, OurAddress);
        Assert.True(ours.Security.Encryption?.Success, ours.Security.Encryption?.Comment); // The sender keeps a readable copy.
    }

    [Fact]
    public async Task An_encrypted_message_with_a_bcc_recipient_who_has_no_usable_certificate_is_held_and_nothing_is_sent()
    {
        using var harness = HostHarness.Create();
        await using var sink = await SmtpSink.StartAsync();
        var outbox = SmtpAccount(harness, sink);
        outbox.Drop("0001.eml", OutboxFolder.Mail(Alice, "Ticket #4711 solved", Body, null, "Bcc: dave@expired.test", "X-RuleMail-Encrypt: yes"));
        await using var runtime = await harness.OpenAsync();

        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        var held = Assert.Single(report.Messages);
        Assert.Equal(OutboxState.Held, held.State);
        Assert.Equal("cannot encrypt the copy for the Bcc recipient dave@expired.test with S/MIME: The certificate for dave@expired.test was found, but has expired.", held.Reason);
        Assert.Empty(sink.Messages);
        Assert.Equal(["0001.eml"], outbox.In(OutboxSender.HeldFolder));
    }

    /// <summary>openssl cms -decrypt with a sample correspondent's key (keystore-sample/source, the sample passphrase).</summary>
    private static (int ExitCode, string Text) Decrypt(HostHarness harness, byte[] raw, string name)
    {
        var source = Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "source");
        var message = harness.Folder.File($"{Guid.NewGuid():N}.eml");
        File.WriteAllBytes(message, raw);
        var result = Core.Tests.Support.ExternalTool.TryRun("openssl", [
            "cms", "-decrypt", "-in", message, "-recip", Path.Combine(source, $"{name}.crt"), "-inkey", Path.Combine(source, $"{name}.key"),
            "-passin", $"file:{Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "passphrase.txt")}"]);
        return (result.ExitCode, result.StandardOutputText);
    }

    private static OutboxFolder SmtpAccount(HostHarness harness, SmtpSink sink) =>
        AddAccount(harness, new SendConfig { Smtp = new ServerConfig { Host = sink.Host, Port = sink.Port, Security = "none" } });

    private static OutboxFolder AddAccount(HostHarness harness, SendConfig send)
    {
        var outbox = harness.Folder.File("outbox");
        send.Outbox = outbox;
        send.Every = "30s";
        harness.Accounts.Add(new AccountConfig { Name = Account, Address = OurAddress, Send = send });
        return new OutboxFolder(outbox);
    }

    private static async Task<OutboxEntry> LedgerAsync(HostRuntime runtime, string fileName, byte[] raw) =>
        await runtime.Services.State.FindOutboxAsync(Account, fileName, OutboxFolder.Hash(raw), Ct)
        ?? throw new Xunit.Sdk.XunitException($"no ledger entry for {fileName}");

    /// <summary>No <c>X-RuleMail-*</c> header anywhere in what went out (looked at in the bytes, before anything parses them).</summary>
    private static void AssertNoOwnHeaders(ReceivedMail received)
    {
        Assert.DoesNotContain("X-RuleMail-", Encoding.UTF8.GetString(received.Raw), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(received.Message.Headers, h => h.Field.StartsWith("X-RuleMail-", StringComparison.OrdinalIgnoreCase));
    }
}
