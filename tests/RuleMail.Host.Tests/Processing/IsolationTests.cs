using RuleMail.Core.Tests.Support;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Processing;

/// <summary>
/// One message never takes the others down: a message whose analysis runs out of memory (or hits a bug) is recorded
/// failed and kept in its mailbox, every other message is processed, and the host goes on; a message that cannot be
/// parsed at all is a result ("damaged"), quarantined and reported by the default rules on its first attempt.
/// The mailbox is a real Maildir, the pipeline and rules the real ones. A real decompression bomb is judged (the crypto
/// layer's limits stop it) and quarantined; the out-of-memory case is injected through the host's analysis seam, since
/// no real message reaches it any more.
/// </summary>
public sealed class IsolationTests : IAsyncLifetime
{
    private readonly HostHarness _harness = HostHarness.Create();
    private WebhookListener _webhook = null!;

    private string Maildir => _harness.Folder.File("Maildir");

    public Task InitializeAsync()
    {
        _webhook = WebhookListener.Start();
        _harness.AddMaildirAccount();
        _harness.AddWebhookRule(_webhook.Url);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _webhook.DisposeAsync();
        _harness.Dispose();
    }

    [Fact]
    public async Task A_message_that_runs_out_of_memory_is_failed_at_once_and_kept_while_the_others_are_processed_and_the_host_goes_on()
    {
        for (var i = 0; i < 3; i++)
        {
            Deliver($"1{i}.good", HostHarness.PlainQuestion($"good-{i}"));
        }

        Deliver("20.bomb", HostHarness.PlainQuestion("bomb"));
        Deliver("21.bug", HostHarness.PlainQuestion("bug"));
        for (var i = 3; i < 6; i++)
        {
            Deliver($"3{i}.good", HostHarness.PlainQuestion($"good-{i}"));
        }

        await using var runtime = await _harness.OpenAsync();
        runtime.Services.AnalysisFault = report =>
        {
            if (report.Message.Subject == "Question bomb")
            {
#pragma warning disable CA2201 // The runtime's own exception is the point: this is what a decompression bomb throws.
                throw new OutOfMemoryException("Insufficient memory to continue the execution of the program.");
#pragma warning restore CA2201
            }

            if (report.Message.Subject == "Question bug")
            {
                throw new InvalidOperationException("a bug in one message's analysis");
            }
        };

        var first = await runtime.Accounts[0].FetchAsync(null, CancellationToken.None);

        var bomb = Assert.Single(first.Messages, m => m.SourceKey.StartsWith("20.bomb", StringComparison.Ordinal));
        Assert.Equal(MessageState.Failed, bomb.State); // At once: not eight attempts that each exhaust memory again.
        Assert.Contains("gave up at once", bomb.Error, StringComparison.Ordinal);
        Assert.Contains("OutOfMemoryException", bomb.Error, StringComparison.Ordinal);
        var bug = Assert.Single(first.Messages, m => m.SourceKey.StartsWith("21.bug", StringComparison.Ordinal));
        Assert.Equal(MessageState.Retry, bug.State); // Any other failure is retried with backoff, as before.
        Assert.Equal(6, first.Messages.Count(m => m.State == MessageState.Done));
        Assert.Equal(6, _webhook.Acknowledged.Count);
        Assert.True(File.Exists(Path.Combine(Maildir, "new", "20.bomb")) || Directory.GetFiles(Path.Combine(Maildir, "cur"), "20.bomb*").Length == 1,
            "the bomb stays in its mailbox");

        // The same runtime (the host) keeps working: new mail is processed, the poison message is not tried again.
        Deliver("40.later", HostHarness.PlainQuestion("later"));
        var second = await runtime.Accounts[0].FetchAsync(null, CancellationToken.None);

        Assert.Null(second.Error);
        Assert.Equal(MessageState.Done, Assert.Single(second.Messages, m => m.SourceKey.StartsWith("40.later", StringComparison.Ordinal)).State);
        Assert.DoesNotContain(second.Messages, m => m.SourceKey.StartsWith("20.bomb", StringComparison.Ordinal));
        Assert.Equal(7, _webhook.Acknowledged.Count);
    }

    [Fact]
    public async Task Unparseable_mail_is_quarantined_and_reported_on_its_first_attempt()
    {
        // No headers at all: MimeKit cannot parse it (before, this was retried eight times over an hour, then left).
        File.WriteAllBytes(Path.Combine(Maildir, "new", "1.damaged"), []);
        Deliver("2.good", HostHarness.PlainQuestion("good"));

        var report = await _harness.FetchOnceAsync();

        var damaged = Assert.Single(report.Messages, m => m.SourceKey.StartsWith("1.damaged", StringComparison.Ordinal));
        Assert.True(damaged.State == MessageState.Done, $"{damaged.State} {damaged.Error}");
        Assert.False(damaged.Security!.Sign!.Success);
        Assert.Contains("damaged", damaged.Security.Sign.Comment, StringComparison.Ordinal);
        Assert.Contains(damaged.Actions, a => a.StartsWith("move Quarantine: done", StringComparison.Ordinal));
        Assert.Single(Directory.GetFiles(Path.Combine(Maildir, ".Quarantine", "cur"), "1.damaged*"));
        var calls = await _webhook.WaitForAcknowledgedAsync(2, TimeSpan.FromSeconds(30));
        Assert.Contains(calls, c => c.Body.Contains("damaged", StringComparison.Ordinal) && c.Body.Contains("security-failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_real_decompression_bomb_among_good_messages_is_judged_and_quarantined_and_the_others_go_on()
    {
        // 4 GB of zeros in a few MB of raw deflate, encrypted for real (SEIPD with MDC) to the sample desk's PGP key.
        var desk = PgpPackets.EncryptionKey(File.ReadAllBytes(Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "pgp", "4CE654079CED8BC062DE3E3C04608BF10A4F27A2.pub.asc")));
        var bomb = PgpPackets.Encrypt(PgpPackets.CompressedPacket(Org.BouncyCastle.Bcpg.CompressionAlgorithmTag.Zip, PgpPackets.DeflateBomb(4096)),
            Org.BouncyCastle.Bcpg.SymmetricKeyAlgorithmTag.Aes256, desk);
        var message = new MimeKit.MimeMessage();
        message.From.Add(MimeKit.MailboxAddress.Parse("attacker@example.net"));
        message.To.Add(MimeKit.MailboxAddress.Parse("support@rulemail.test"));
        message.Subject = "Question bomb";
        message.Body = new MimeKit.TextPart("plain") { Text = System.Text.Encoding.ASCII.GetString(Pgp.Armor(bomb)) };
        Deliver("1.good", HostHarness.PlainQuestion("good-1"));
        Deliver("2.bomb", message);
        Deliver("3.good", HostHarness.PlainQuestion("good-3"));

        var report = await _harness.FetchOnceAsync();

        var judged = Assert.Single(report.Messages, m => m.SourceKey.StartsWith("2.bomb", StringComparison.Ordinal));
        Assert.True(judged.State == MessageState.Done, $"{judged.State} {judged.Error}");
        Assert.Equal("PGP", judged.Security!.Type);
        Assert.False(judged.Security.Encryption!.Success);
        Assert.Contains("compressed data expands", judged.Security.Encryption.Comment, StringComparison.Ordinal);
        Assert.Null(judged.Security.Sign);
        Assert.Single(Directory.GetFiles(Path.Combine(Maildir, ".Quarantine", "cur"), "2.bomb*"));
        Assert.Equal(2, report.Messages.Count(m => m.SourceKey.Contains(".good", StringComparison.Ordinal) && m.State == MessageState.Done));
        Assert.Equal(3, (await _webhook.WaitForAcknowledgedAsync(3, TimeSpan.FromSeconds(30))).Count);
    }

    private void Deliver(string name, MimeKit.MimeMessage message) => message.WriteTo(Path.Combine(Maildir, "new", name));
}
