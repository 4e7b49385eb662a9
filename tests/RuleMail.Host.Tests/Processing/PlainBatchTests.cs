using MailKit;
using MimeKit;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Processing;

/// <summary>
/// Group commit of plain mail on a real Dovecot with the shipped rules: analyses that plan nothing are recorded
/// together (one commit for up to <see cref="Host.Processing.IncomingPipeline.DoneBatchSize"/>), yet the folder's saved
/// cursor never passes a message the ledger does not have, and every message is recorded and reported once.
/// </summary>
public sealed class PlainBatchTests : IAsyncLifetime
{
    private const string User = "support";
    private const string Password = "imap-secret";
    private readonly HostHarness _harness = HostHarness.Create();
    private DovecotServer _dovecot = null!;

    public async Task InitializeAsync()
    {
        _dovecot = await DovecotServer.StartAsync((User, Password));
        _harness.ImapAccount(_dovecot, User, Password);
    }

    public async Task DisposeAsync()
    {
        await _dovecot.DisposeAsync();
        _harness.Dispose();
    }

    [Fact]
    public async Task Plain_mail_becomes_visible_in_the_ledger_a_batch_at_a_time_and_all_of_it_is_recorded_once()
    {
        var uids = await AppendAsync(Enumerable.Range(0, 70).Select(i => HostHarness.PlainQuestion($"plain-{i}")));
        await using var runtime = await _harness.OpenAsync();
        var seen = new List<int>();
        runtime.Services.AnalysisFault = _ => seen.Add(RecordedCount(runtime, uids));

        var report = await runtime.Accounts[0].FetchAsync(null, CancellationToken.None);

        // While message k (from 0) is analysed, the ledger holds the batches committed before it: 32 at a time.
        Assert.Equal(Enumerable.Range(0, 70).Select(k => k / 32 * 32), seen);
        Assert.Null(report.Error);
        Assert.Equal(70, report.Messages.Count);
        Assert.Equal(70, report.Messages.Select(m => m.SourceKey).Distinct().Count());
        Assert.All(report.Messages, m => Assert.Equal((MessageState.Done, true), (m.State, m.IsNew)));
        Assert.Equal(70, RecordedCount(runtime, uids));
        var cursor = await runtime.Services.State.GetCursorAsync(_harness.Accounts[0].Name, "INBOX", CancellationToken.None);
        Assert.Equal<uint?>(uids[^1].Id, cursor?.LastUid);
        Assert.Empty((await runtime.Accounts[0].FetchAsync(null, CancellationToken.None)).Messages);
    }

    [Fact]
    public async Task The_saved_cursor_never_passes_a_plain_message_waiting_for_its_batch()
    {
        // 20 plain messages wait for their batch while 100 messages with a plan (the shipped rules flag and move a
        // tampered signature) are each recorded on their own; the 100th makes the IMAP source save its cursor.
        var tampered = await MimeMessage.LoadAsync(new MemoryStream(HostHarness.DemoMessage("smime-tampered")));
        var messages = Enumerable.Range(0, 20).Select(i => HostHarness.PlainQuestion($"plain-{i}"))
            .Concat(Enumerable.Range(0, 100).Select(i => Copy(tampered, i)))
            .Concat(Enumerable.Range(20, 5).Select(i => HostHarness.PlainQuestion($"plain-{i}")));
        var uids = await AppendAsync(messages);
        await using var runtime = await _harness.OpenAsync();
        var breaches = new List<string>();
        runtime.Services.AnalysisFault = _ => breaches.AddRange(UnrecordedBelowCursor(runtime, uids));

        var report = await runtime.Accounts[0].FetchAsync(null, CancellationToken.None);

        Assert.Empty(breaches);
        Assert.Null(report.Error);
        Assert.Equal(125, report.Messages.Count);
        Assert.Equal(125, report.Messages.Select(m => m.SourceKey).Distinct().Count());
        Assert.Equal(25, (await _dovecot.ListAsync(User, Password)).Count);
        Assert.Equal(100, (await _dovecot.ListAsync(User, Password, "Quarantine")).Count);
        Assert.Equal(125, RecordedCount(runtime, uids));
    }

    private async Task<IReadOnlyList<UniqueId>> AppendAsync(IEnumerable<MimeMessage> messages)
    {
        using var client = await _dovecot.ConnectImapAsync(User, Password);
        var inbox = await client.GetFolderAsync("INBOX");
        var uids = new List<UniqueId>();
        foreach (var message in messages)
        {
            uids.Add(await inbox.AppendAsync(new AppendRequest(message)) ?? throw new InvalidOperationException("no UIDPLUS"));
        }

        await client.DisconnectAsync(true);
        return uids;
    }

    /// <summary>The tampered demo under a header of its own (outside the signature), so each copy has its own content hash.</summary>
    private static MimeMessage Copy(MimeMessage tampered, int i)
    {
        using var buffer = new MemoryStream();
        tampered.WriteTo(buffer);
        buffer.Position = 0;
        var copy = MimeMessage.Load(buffer);
        copy.Headers.Add("X-Copy", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return copy;
    }

    private int RecordedCount(Host.Scheduling.HostRuntime runtime, IReadOnlyList<UniqueId> uids) =>
        runtime.Services.State.FindMessagesAsync(_harness.Accounts[0].Name, "INBOX", [.. uids.Select(u => $"{u.Validity}:{u.Id}")], CancellationToken.None)
            .GetAwaiter().GetResult().Count;

    /// <summary>Messages at or below the folder's saved cursor that the ledger does not have (a restart would never list them).</summary>
    private IEnumerable<string> UnrecordedBelowCursor(Host.Scheduling.HostRuntime runtime, IReadOnlyList<UniqueId> uids)
    {
        var state = runtime.Services.State;
        var cursor = state.GetCursorAsync(_harness.Accounts[0].Name, "INBOX", CancellationToken.None).GetAwaiter().GetResult();
        if (cursor is null)
        {
            return [];
        }

        string[] below = [.. uids.Where(u => u.Id <= cursor.LastUid).Select(u => $"{u.Validity}:{u.Id}")];
        var known = state.FindMessagesAsync(_harness.Accounts[0].Name, "INBOX", below, CancellationToken.None).GetAwaiter().GetResult();
        return below.Where(k => !known.ContainsKey(k)).Select(k => $"{k} is below the saved cursor {cursor.LastUid} but not in the ledger");
    }
}
