using System.Text.Json;
using Microsoft.Data.Sqlite;
using RuleMail.Host.Processing;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Host.Transport;

namespace RuleMail.Host.Tests.Processing;

/// <summary>
/// Judging processed mail again against a real Dovecot over IMAP and a real webhook endpoint: a message quarantined for
/// an unknown signer comes back to INBOX once the signer's certificate is in the store, each analysis version's side
/// effects run once, and neither a second retry nor the next fetch repeats anything.
/// </summary>
public sealed class RetryTests : IAsyncLifetime
{
    private const string User = "support";
    private const string Password = "imap-secret";
    private const string UnknownSigner = "smime-unknown-signer";
    private readonly HostHarness _harness = HostHarness.Create();
    private DovecotServer _dovecot = null!;
    private WebhookListener _webhook = null!;

    public async Task InitializeAsync()
    {
        _dovecot = await DovecotServer.StartAsync((User, Password));
        _webhook = WebhookListener.Start();
        _harness.CopyKeyStore();
        _harness.ImapAccount(_dovecot, User, Password);
        _harness.AddWebhookRule(_webhook.Url);
    }

    public async Task DisposeAsync()
    {
        await _webhook.DisposeAsync();
        await _dovecot.DisposeAsync();
        _harness.Dispose();
    }

    [Fact]
    public async Task A_message_quarantined_for_an_unknown_signer_returns_to_INBOX_verified_once_its_certificate_is_imported()
    {
        await _dovecot.AppendAsync(User, Password, HostHarness.DemoMessage(UnknownSigner));
        var fetched = Assert.Single((await _harness.FetchOnceAsync()).Messages);
        Assert.Single(await _dovecot.ListAsync(User, Password, "Quarantine"));
        _harness.ImportIntoKeystore("stranger.crt");

        var retried = Assert.Single((await _harness.RetryOnceAsync()).Messages);

        Assert.Equal(RetryOutcome.Changed, retried.Outcome);
        Assert.Equal((1, 2), (retried.PreviousVersion, retried.Version));
        Assert.False(retried.SecurityBefore!.Sign!.Success);
        Assert.True(retried.SecurityAfter!.Sign!.Success);
        Assert.Contains("unflag security-failed: done", retried.Actions);
        Assert.Contains("move INBOX: done", retried.Actions);
        Assert.Equal(MessageState.Done, retried.State);

        Assert.Empty(await _dovecot.ListAsync(User, Password, "Quarantine"));
        var back = Assert.Single(await _dovecot.ListAsync(User, Password));
        Assert.DoesNotContain("security-failed", back.Keywords);
        Assert.Equal(new MessageLocation("INBOX", ImapSource.Key(back.Uid.Validity, back.Uid.Id), back.Uid.Validity, back.Uid.Id), retried.Location);

        Assert.Equal(2, _webhook.Acknowledged.Count);
        var (first, second) = (_webhook.Acknowledged[0], _webhook.Acknowledged[1]);
        Assert.NotEqual(first.IdempotencyKey, second.IdempotencyKey);
        using (var json = JsonDocument.Parse(first.Body))
        {
            Assert.Equal(1, json.RootElement.GetProperty("analysis").GetInt32());
        }

        using (var json = JsonDocument.Parse(second.Body))
        {
            Assert.Equal(2, json.RootElement.GetProperty("analysis").GetInt32());
            Assert.Equal(fetched.SourceKey, json.RootElement.GetProperty("source_key").GetString());
            Assert.True(json.RootElement.GetProperty("security").GetProperty("sign").GetProperty("success").GetBoolean());
            Assert.False(json.RootElement.GetProperty("decision").TryGetProperty("move", out _));
        }

        var (entry, analyses, _) = await _harness.LedgerAsync("INBOX", fetched.SourceKey);
        Assert.Equal(2, entry.AnalysisVersion);
        Assert.Equal([AnalysisTrigger.Fetch, AnalysisTrigger.Retry], analyses.Select(a => a.Trigger));
        Assert.Equal([true, false], analyses.Select(a => a.SecurityFailed));
    }

    [Fact]
    public async Task Neither_a_second_retry_nor_the_next_fetch_repeats_anything_after_a_message_came_back()
    {
        await _dovecot.AppendAsync(User, Password, HostHarness.DemoMessage(UnknownSigner));
        var key = Assert.Single((await _harness.FetchOnceAsync()).Messages).SourceKey;
        _harness.ImportIntoKeystore("stranger.crt");
        await _harness.RetryOnceAsync();
        var uid = Assert.Single(await _dovecot.ListAsync(User, Password)).Uid;

        var again = await _harness.RetryOnceAsync(); // It no longer fails: the default selection leaves it out.
        var byKey = await _harness.RetryOnceAsync(new RetrySelection { SourceKeys = [key] });
        var fetch = await _harness.FetchOnceAsync(); // Back in INBOX under a new UID, above the folder's cursor.

        Assert.Empty(again.Messages);
        Assert.Equal(RetryOutcome.Unchanged, Assert.Single(byKey.Messages).Outcome);
        Assert.Null(fetch.Error);
        Assert.Empty(fetch.Messages);
        Assert.Equal(1, fetch.AlreadyDone); // Known under its new UID: not even read again as a duplicate by content.
        Assert.Equal(key, (await _harness.LedgerAsync("INBOX", ImapSource.Key(uid.Validity, uid.Id))).Entry.SourceKey);
        Assert.Equal(2, _webhook.Received.Count);
        Assert.Equal(uid, Assert.Single(await _dovecot.ListAsync(User, Password)).Uid);
        var (_, analyses, effects) = await _harness.LedgerAsync("INBOX", key);
        Assert.Equal(2, analyses.Count);
        Assert.All(effects, e => Assert.Equal(SideEffectState.Done, e.State));
    }

    [Fact]
    public async Task A_webhook_that_is_down_during_a_retry_is_delivered_once_by_a_later_fetch()
    {
        await _dovecot.AppendAsync(User, Password, HostHarness.DemoMessage(UnknownSigner));
        await _harness.FetchOnceAsync();
        _harness.ImportIntoKeystore("stranger.crt");
        _webhook.RespondNext(1, System.Net.HttpStatusCode.ServiceUnavailable);

        var retried = Assert.Single((await _harness.RetryOnceAsync()).Messages);
        var tooEarly = await _harness.FetchOnceAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        var later = await _harness.FetchOnceAsync();
        var after = await _harness.FetchOnceAsync();

        // The mailbox part was done at once; the webhook waits for its backoff like any other.
        Assert.Equal((RetryOutcome.Changed, MessageState.Retry), (retried.Outcome, retried.State));
        Assert.Contains("move INBOX: done", retried.Actions);
        Assert.Empty(tooEarly.Messages);
        Assert.Equal(1, tooEarly.Waiting);
        var finished = Assert.Single(later.Messages);
        Assert.Equal(MessageState.Done, finished.State);
        Assert.Empty(after.Messages);
        Assert.Equal(3, _webhook.Received.Count);
        Assert.Equal(2, _webhook.Acknowledged.Count);
        Assert.Equal(_webhook.Received[1].IdempotencyKey, _webhook.Received[2].IdempotencyKey);
        using var json = JsonDocument.Parse(_webhook.Received[2].Body);
        Assert.Equal(2, json.RootElement.GetProperty("analysis").GetInt32());
        Assert.Single(await _dovecot.ListAsync(User, Password));
    }

    [Fact]
    public async Task A_retry_whose_new_analysis_still_fails_records_and_changes_nothing()
    {
        await _dovecot.AppendAsync(User, Password, HostHarness.DemoMessage("smime-tampered"));
        await _dovecot.AppendAsync(User, Password, HostHarness.DemoMessage(UnknownSigner));
        var keys = (await _harness.FetchOnceAsync()).Messages.Select(m => m.SourceKey).ToList();
        var effectsBefore = await _harness.LedgerAsync("INBOX", keys[0]);

        var report = await _harness.RetryOnceAsync(); // No certificate was imported: both still fail, the same way.

        Assert.Equal([RetryOutcome.Unchanged, RetryOutcome.Unchanged], report.Messages.Select(m => m.Outcome));
        Assert.All(report.Messages, m => Assert.Empty(m.Actions));
        Assert.Equal(2, _webhook.Received.Count);
        var quarantine = await _dovecot.ListAsync(User, Password, "Quarantine");
        Assert.Equal(2, quarantine.Count);
        Assert.All(quarantine, m => Assert.Contains("security-failed", m.Keywords));
        var effectsAfter = await _harness.LedgerAsync("INBOX", keys[0]);
        Assert.Single(effectsAfter.Analyses);
        Assert.Equal(effectsBefore.Effects, effectsAfter.Effects);
        Assert.Equal(effectsBefore.Entry.UpdatedAt, effectsAfter.Entry.UpdatedAt);
    }

    [Fact]
    public async Task After_a_rule_change_a_retry_moves_a_quarantined_message_to_the_new_folder_once()
    {
        await _dovecot.AppendAsync(User, Password, HostHarness.DemoMessage("smime-tampered"));
        var key = Assert.Single((await _harness.FetchOnceAsync()).Messages).SourceKey;
        _harness.AddRule("0-suspicious.yaml", """
            rules:
              - name: failed-security-goes-to-the-fraud-desk
                on: incoming
                when:
                  security.sign.success: false
                then:
                  move: Fraud
                  flag: fraud-desk
            """);

        var moved = Assert.Single((await _harness.RetryOnceAsync()).Messages);
        var again = Assert.Single((await _harness.RetryOnceAsync()).Messages);
        var fetch = await _harness.FetchOnceAsync();

        Assert.Equal(RetryOutcome.Changed, moved.Outcome);
        Assert.Equal(["flag fraud-desk: done", "move Fraud: done", $"webhook {_webhook.Url.Scheme}://{_webhook.Url.Authority}/…: done"], moved.Actions);
        Assert.Equal(RetryOutcome.Unchanged, again.Outcome);
        Assert.Empty(fetch.Messages);
        Assert.Empty(await _dovecot.ListAsync(User, Password, "Quarantine"));
        var fraud = Assert.Single(await _dovecot.ListAsync(User, Password, "Fraud"));
        Assert.Contains("security-failed", fraud.Keywords); // Still asked for: kept.
        Assert.Contains("fraud-desk", fraud.Keywords);
        Assert.Equal(2, _webhook.Acknowledged.Count);
        Assert.Equal("Fraud", (await _harness.LedgerAsync("INBOX", key)).Entry.Location?.Folder);
    }

    [Fact]
    public async Task A_message_whose_place_after_the_move_was_not_recorded_is_found_by_its_Message_ID()
    {
        await _dovecot.AppendAsync(User, Password, HostHarness.DemoMessage(UnknownSigner));
        var key = Assert.Single((await _harness.FetchOnceAsync()).Messages).SourceKey;

        // As a state from before locations were recorded (or a server without UIDPLUS) leaves it: the folder only.
        using (var connection = new SqliteConnection($"Data Source={_harness.StatePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE message SET location_key = NULL, location_uid_validity = NULL, location_uid = NULL;";
            Assert.Equal(1, command.ExecuteNonQuery());
        }

        _harness.ImportIntoKeystore("stranger.crt");
        var retried = Assert.Single((await _harness.RetryOnceAsync()).Messages);

        Assert.Equal(RetryOutcome.Changed, retried.Outcome);
        Assert.Contains("move INBOX: done", retried.Actions);
        Assert.Single(await _dovecot.ListAsync(User, Password));
        Assert.Empty(await _dovecot.ListAsync(User, Password, "Quarantine"));
        Assert.Equal("INBOX", (await _harness.LedgerAsync("INBOX", key)).Entry.Location?.Folder);
    }

    [Fact]
    public async Task A_message_gone_from_where_it_was_moved_is_reported_failed_and_nothing_is_recorded()
    {
        await _dovecot.AppendAsync(User, Password, HostHarness.DemoMessage(UnknownSigner));
        var key = Assert.Single((await _harness.FetchOnceAsync()).Messages).SourceKey;
        using (var client = await _dovecot.ConnectImapAsync(User, Password))
        {
            var quarantine = await client.GetFolderAsync("Quarantine");
            await quarantine.OpenAsync(MailKit.FolderAccess.ReadWrite);
            var all = await quarantine.SearchAsync(MailKit.Search.SearchQuery.All);
            await quarantine.StoreAsync(all, new MailKit.StoreFlagsRequest(MailKit.StoreAction.Add, MailKit.MessageFlags.Deleted) { Silent = true });
            await quarantine.ExpungeAsync();
            await client.DisconnectAsync(true);
        }

        _harness.ImportIntoKeystore("stranger.crt");
        var report = await _harness.RetryOnceAsync();

        var failed = Assert.Single(report.Messages);
        Assert.Equal(RetryOutcome.Failed, failed.Outcome);
        Assert.Contains("not found in Quarantine", failed.Reason, StringComparison.Ordinal);
        Assert.Single((await _harness.LedgerAsync("INBOX", key)).Analyses);
        Assert.Single(_webhook.Received);
    }
}
