using System.Text;
using MailKit.Security;
using MimeKit;
using RuleMail.Application;
using RuleMail.Host.Tests.Support;
using RuleMail.Host.Transport;

namespace RuleMail.Host.Tests.Transport;

/// <summary>
/// <see cref="SmtpTransport"/> against a real SMTP server: each copy goes to exactly its envelope recipients, whatever
/// its headers say, from the message's Sender or From, and no Bcc header ever reaches the server.
/// </summary>
public sealed class SmtpTransportTests : IAsyncLifetime
{
    private const string Sue = "sue@rulemail.test";
    private const string Alice = "alice@customer.test";
    private const string Carol = "carol@customer.test";
    private const string Dave = "dave@hidden.test";
    private const string Erin = "erin@hidden.test";
    private static readonly CancellationToken Ct = CancellationToken.None;

    private SmtpSink _sink = null!;

    public async Task InitializeAsync() => _sink = await SmtpSink.StartAsync();

    public async Task DisposeAsync() => await _sink.DisposeAsync();

    [Fact]
    public async Task The_to_and_cc_copy_goes_to_its_envelope_only_and_transmits_no_bcc_header()
    {
        await using var transport = Transport();

        await transport.SendAsync(new OutgoingCopy(Message(), [Alice, Carol]), Ct);

        var received = Assert.Single(_sink.Messages);
        Assert.Equal(Sue, received.MailFrom);
        Assert.Equal([Alice, Carol], received.RcptTo);
        AssertNoBcc(received);
        Assert.Equal("Ticket #4711", received.Message.Subject);
    }

    [Fact]
    public async Task A_bcc_copy_goes_to_its_bcc_recipient_alone_and_its_own_bcc_header_stays_behind()
    {
        var message = Message();
        message.Bcc.Clear();
        message.Bcc.Add(MailboxAddress.Parse(Dave)); // As a Bcc copy carries it: naming its own recipient only.
        await using var transport = Transport();

        await transport.SendAsync(new OutgoingCopy(message, [Dave], Dave), Ct);

        var received = Assert.Single(_sink.Messages);
        Assert.Equal([Dave], received.RcptTo);
        AssertNoBcc(received);
        Assert.Equal(Alice, received.Message.To.Mailboxes.Single().Address); // The headers are the message's; only the envelope differs.
    }

    [Fact]
    public async Task The_sender_header_is_the_envelope_sender_when_there_is_one()
    {
        var message = Message();
        message.Sender = MailboxAddress.Parse("robot@rulemail.test");
        await using var transport = Transport();

        await transport.SendAsync(new OutgoingCopy(message, [Alice]), Ct);

        Assert.Equal("robot@rulemail.test", Assert.Single(_sink.Messages).MailFrom);
    }

    [Fact]
    public async Task Copies_of_one_message_over_one_session_each_reach_only_their_recipients()
    {
        var message = Message();
        await using var transport = Transport();

        await transport.SendAsync(new OutgoingCopy(message, [Alice, Carol]), Ct);
        await transport.SendAsync(new OutgoingCopy(message, [Dave], Dave), Ct);
        await transport.SendAsync(new OutgoingCopy(message, [Erin], Erin), Ct);

        Assert.Equal([[Alice, Carol], [Dave], [Erin]], _sink.Messages.Select(m => m.RcptTo.ToArray()));
        Assert.All(_sink.Messages, AssertNoBcc);
    }

    [Fact]
    public async Task A_refused_recipient_is_a_rejection_in_the_transport_exception_family()
    {
        _sink.RejectRecipient(Dave);
        await using var transport = Transport();

        var rejected = await Assert.ThrowsAsync<MailRejectedException>(() => transport.SendAsync(new OutgoingCopy(Message(), [Dave], Dave), Ct));

        Assert.Contains("550", rejected.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<TransportException>(rejected);
        Assert.Empty(_sink.Messages);
    }

    [Fact]
    public async Task A_server_that_is_down_is_a_transient_failure_in_the_transport_exception_family()
    {
        await _sink.StopAsync();
        await using var transport = Transport();

        var down = await Assert.ThrowsAsync<MailSourceException>(() => transport.SendAsync(new OutgoingCopy(Message(), [Alice]), Ct));

        Assert.IsAssignableFrom<TransportException>(down);
        Assert.Contains("connection refused", down.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_copy_without_envelope_recipients_is_a_programming_error_and_nothing_is_sent()
    {
        await using var transport = Transport();

        await Assert.ThrowsAsync<ArgumentException>(() => transport.SendAsync(new OutgoingCopy(Message(), []), Ct));

        Assert.Empty(_sink.Messages);
    }

    private SmtpTransport Transport() => new(new ServerEndpoint("smtp", _sink.Host, _sink.Port, SecureSocketOptions.None, null, null));

    /// <summary>From Sue to Alice, Cc Carol, Bcc Dave and Erin.</summary>
    private static MimeMessage Message()
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse($"Sue <{Sue}>"));
        message.To.Add(MailboxAddress.Parse(Alice));
        message.Cc.Add(MailboxAddress.Parse(Carol));
        message.Bcc.Add(MailboxAddress.Parse(Dave));
        message.Bcc.Add(MailboxAddress.Parse(Erin));
        message.Subject = "Ticket #4711";
        message.MessageId = "bcc-test@rulemail.test";
        message.Body = new TextPart("plain") { Text = "Solved." };
        return message;
    }

    /// <summary>What the server stored has no Bcc header, and names no Bcc recipient anywhere.</summary>
    private static void AssertNoBcc(ReceivedMail received)
    {
        Assert.Empty(received.Message.Bcc);
        Assert.DoesNotContain(received.Message.Headers, h => h.Field.Equals("Bcc", StringComparison.OrdinalIgnoreCase));
        var raw = Encoding.UTF8.GetString(received.Raw);
        foreach (var hidden in new[] { Dave, Erin })
        {
            Assert.DoesNotContain(hidden, raw, StringComparison.OrdinalIgnoreCase);
        }
    }
}
