using System.Security.Cryptography;
using System.Text;
using MimeKit;
using RuleMail.Application;
using RuleMail.Core.Tests.Support;
using RuleMail.Host.Transport;

namespace RuleMail.Host.Tests.Transport;

/// <summary><see cref="PickupTransport"/>: one file per copy of a message; a copy written again replaces its file, never doubles it.</summary>
public sealed class PickupTransportTests : IDisposable
{
    private const string MessageId = "pickup-bcc@rulemail.test";
    private static readonly CancellationToken Ct = CancellationToken.None;
    private readonly TempDirectory _temp = new("pickup");

    private string Folder => Path.Combine(_temp.Path, "pickup");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Each_copy_of_a_message_is_a_file_of_its_own_and_a_repeat_replaces_it()
    {
        await using var transport = new PickupTransport(Folder);
        var main = new OutgoingCopy(Message("for alice"), ["alice@customer.test"]);
        var dave = new OutgoingCopy(Message("for dave"), ["dave@hidden.test"], "dave@hidden.test");
        var erin = new OutgoingCopy(Message("for erin"), ["erin@hidden.test"], "erin@hidden.test");

        foreach (var copy in new[] { main, dave, erin })
        {
            await transport.SendAsync(copy, Ct);
        }

        var files = Directory.GetFiles(Folder); // No temporary file left either.
        Assert.Equal(3, files.Length);
        Assert.Equal(["for alice", "for dave", "for erin"], files.Select(f => TextOf(f)).Order());

        await transport.SendAsync(dave with { Message = Message("for dave, again") }, Ct);

        Assert.Equal(files.Order(), Directory.GetFiles(Folder).Order());
        Assert.Contains(Directory.GetFiles(Folder), f => TextOf(f) == "for dave, again");
        Assert.DoesNotContain(Directory.GetFiles(Folder), f => TextOf(f) == "for dave");
    }

    [Fact]
    public async Task Each_file_starts_with_its_own_envelope_as_the_iis_pickup_format_writes_it_so_a_bcc_copy_names_only_its_recipient()
    {
        await using var transport = new PickupTransport(Folder);
        var main = new OutgoingCopy(Message("for alice"), ["alice@customer.test", "bob@partner.test"]);
        var dave = new OutgoingCopy(Message("for dave"), ["dave@hidden.test"], "dave@hidden.test");

        await transport.SendAsync(main, Ct);
        await transport.SendAsync(dave, Ct);

        var texts = Directory.GetFiles(Folder).Select(File.ReadAllText).ToList();
        var forAlice = Assert.Single(texts, t => t.Contains("for alice", StringComparison.Ordinal));
        var forDave = Assert.Single(texts, t => t.Contains("for dave", StringComparison.Ordinal));
        Assert.StartsWith("X-Sender: <sue@rulemail.test>\r\nX-Receiver: <alice@customer.test>\r\nX-Receiver: <bob@partner.test>\r\nFrom: ", forAlice, StringComparison.Ordinal);
        Assert.StartsWith("X-Sender: <sue@rulemail.test>\r\nX-Receiver: <dave@hidden.test>\r\nFrom: ", forDave, StringComparison.Ordinal);
        Assert.DoesNotContain("dave", forAlice, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AlreadyDelivered_answers_for_each_copy_on_its_own()
    {
        await using var transport = new PickupTransport(Folder);
        var main = new OutgoingCopy(Message("for alice"), ["alice@customer.test"]);
        var dave = new OutgoingCopy(Message("for dave"), ["dave@hidden.test"], "dave@hidden.test");

        Assert.False(transport.AlreadyDelivered(main));
        await transport.SendAsync(dave, Ct);

        Assert.True(transport.AlreadyDelivered(dave));
        Assert.False(transport.AlreadyDelivered(main));
        Assert.False(transport.AlreadyDelivered(dave with { BccRecipient = "erin@hidden.test", Recipients = ["erin@hidden.test"] }));
        var other = Message("another message");
        other.MessageId = "another@rulemail.test";
        Assert.False(transport.AlreadyDelivered(dave with { Message = other }));
    }

    [Fact]
    public async Task The_to_and_cc_copy_keeps_the_file_name_a_message_had_before_copies_so_an_interrupted_send_is_still_recognised()
    {
        await using var transport = new PickupTransport(Folder);

        await transport.SendAsync(new OutgoingCopy(Message("for alice"), ["alice@customer.test"]), Ct);

        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(MessageId)))[..32] + ".eml";
        Assert.Equal(expected, Path.GetFileName(Assert.Single(Directory.GetFiles(Folder))));
    }

    [Fact]
    public async Task A_bcc_copys_file_name_does_not_show_its_recipient()
    {
        await using var transport = new PickupTransport(Folder);

        await transport.SendAsync(new OutgoingCopy(Message("for dave"), ["dave@hidden.test"], "dave@hidden.test"), Ct);

        var name = Path.GetFileName(Assert.Single(Directory.GetFiles(Folder)));
        Assert.DoesNotContain("dave", name, StringComparison.OrdinalIgnoreCase);
        Assert.Matches("^[0-9a-f]{32}\\.bcc-[0-9a-f]{16}\\.eml$", name);
    }

    [Fact]
    public async Task A_message_without_a_message_id_is_refused()
    {
        await using var transport = new PickupTransport(Folder);
        var message = Message("no id");
        message.Headers.Remove(HeaderId.MessageId);

        await Assert.ThrowsAsync<InvalidOperationException>(() => transport.SendAsync(new OutgoingCopy(message, ["alice@customer.test"]), Ct));
    }

    private static string? TextOf(string file) => MimeMessage.Load(file).TextBody?.Trim();

    private static MimeMessage Message(string text)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sue@rulemail.test"));
        message.To.Add(MailboxAddress.Parse("alice@customer.test"));
        message.Subject = "Pickup";
        message.MessageId = MessageId;
        message.Body = new TextPart("plain") { Text = text };
        return message;
    }
}
