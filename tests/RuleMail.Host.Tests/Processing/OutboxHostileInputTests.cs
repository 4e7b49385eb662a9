using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Processing;

/// <summary>
/// Review findings, end to end through the send job into a pickup folder (the shipped rules and the sample key store).
/// Each test states what should happen and fails on b853f23.
/// </summary>
public sealed class OutboxHostileInputTests
{
    private const string Alice = "Alice <alice@customer.test>";
    private const string Secret = "secret@hidden.test";
    private static readonly CancellationToken Ct = CancellationToken.None;

    /// <summary>A Bcc header MimeKit cannot parse (here an unterminated comment) is written into the To/Cc copy's file.</summary>
    [Fact]
    public async Task An_unparsable_Bcc_header_is_never_written_into_the_To_Cc_copy()
    {
        using var harness = HostHarness.Create();
        var (outbox, pickup) = PickupAccount(harness);
        outbox.Drop("0001.eml", OutboxFolder.Mail(Alice, "Hidden copy", "Hello", null, $"Bcc: Legal (counsel <{Secret}>"));
        await using var runtime = await harness.OpenAsync();

        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        var sent = Assert.Single(report.Messages);
        if (sent.State == OutboxState.Sent)
        {
            Assert.All(Directory.GetFiles(pickup), f => Assert.DoesNotContain(Secret, File.ReadAllText(f), StringComparison.OrdinalIgnoreCase));
        }
    }

    /// <summary>Resent-Bcc survives into the files; only the SMTP transport hides it.</summary>
    [Fact]
    public async Task A_Resent_Bcc_header_is_never_written_into_a_pickup_file()
    {
        using var harness = HostHarness.Create();
        var (outbox, pickup) = PickupAccount(harness);
        outbox.Drop("0001.eml", OutboxFolder.Mail(Alice, "Resent", "Hello", null, $"Resent-From: {OutboxFolder.From}", $"Resent-Bcc: {Secret}"));
        await using var runtime = await harness.OpenAsync();

        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Equal(OutboxState.Sent, Assert.Single(report.Messages).State);
        Assert.All(Directory.GetFiles(pickup), f => Assert.DoesNotContain(Secret, File.ReadAllText(f), StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// An X-Receiver (or X-Sender) header of the outbox message itself, when first, continues RuleMail's own envelope block:
    /// an IIS-style collector delivers the copy to that address too.
    /// </summary>
    [Fact]
    public async Task The_envelope_block_of_a_pickup_file_holds_only_the_copys_own_recipients()
    {
        using var harness = HostHarness.Create();
        var (outbox, pickup) = PickupAccount(harness);
        outbox.Drop("0001.eml", "X-Receiver: <spy@evil.test>\r\n" + OutboxFolder.Mail(Alice, "Envelope", "Hello"));
        await using var runtime = await harness.OpenAsync();

        var report = await runtime.Accounts[0].SendAsync(null, Ct);

        Assert.Equal(OutboxState.Sent, Assert.Single(report.Messages).State);
        var file = Assert.Single(Directory.GetFiles(pickup));
        var envelope = File.ReadAllText(file).Split('\n').Select(l => l.TrimEnd('\r'))
            .TakeWhile(l => l.StartsWith("X-Sender:", StringComparison.OrdinalIgnoreCase) || l.StartsWith("X-Receiver:", StringComparison.OrdinalIgnoreCase))
            .ToList();
        Assert.Equal(["X-Sender: <support@rulemail.test>", "X-Receiver: <alice@customer.test>"], envelope);
    }

    /// <summary>
    /// The pickup file name comes from the Message-ID alone: a second, different outbox message that carries the same
    /// Message-ID replaces the first one's file before the collector took it — the first is lost, the ledger says sent.
    /// </summary>
    [Fact]
    public async Task A_pickup_file_has_one_line_ending_throughout()
    {
        using var harness = HostHarness.Create();
        var (outbox, pickup) = PickupAccount(harness);
        outbox.Drop("0001.eml", OutboxFolder.Mail(Alice, "Line ends", "Hello"));
        await using var runtime = await harness.OpenAsync();

        await runtime.Accounts[0].SendAsync(null, Ct);

        var bytes = File.ReadAllBytes(Assert.Single(Directory.GetFiles(pickup)));
        var bareLf = Enumerable.Range(0, bytes.Length).Count(i => bytes[i] == (byte)'\n' && (i == 0 || bytes[i - 1] != (byte)'\r'));
        var crlf = Enumerable.Range(1, bytes.Length - 1).Count(i => bytes[i] == (byte)'\n' && bytes[i - 1] == (byte)'\r');
        Assert.True(bareLf == 0 || crlf == 0, $"{crlf} CRLF and {bareLf} bare LF line ends in one file");
    }

    private static (OutboxFolder Outbox, string Pickup) PickupAccount(HostHarness harness)
    {
        var pickup = harness.Folder.File("pickup");
        var outbox = harness.Folder.File("outbox");
        harness.Accounts.Add(new AccountConfig
        {
            Name = "support", Address = "support@rulemail.test", Send = new SendConfig { Pickup = pickup, Outbox = outbox, Every = "30s" },
        });
        return (new OutboxFolder(outbox), pickup);
    }
}
