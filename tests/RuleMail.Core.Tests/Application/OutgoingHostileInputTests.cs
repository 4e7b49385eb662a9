using System.Diagnostics;
using System.Text;
using MimeKit;
using RuleMail.Application;
using RuleMail.Composer;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Core.Tests.Application;

/// <summary>
/// Review findings on the outgoing path (OutgoingProcessing and friends). Each test states what should happen and
/// fails on b853f23. Same fixture as OutgoingProcessingTests: sam signs; support and stranger have RSA certificates.
/// </summary>
public sealed class OutgoingHostileInputTests(SmimeMail mail) : IClassFixture<SmimeMail>, IDisposable
{
    private const string Sam = "sam@example.com";
    private const string Support = MailboxStore.Account;
    private const string Stranger = "stranger@example.com";
    private const string Secret = "secret@hidden.example";

    private readonly TempDirectory _rules = new("review-rules");
    private readonly MailboxStore _store = MailboxStore.With(
        [mail["root.crt"], mail["inter.crt"], .. mail.WithPrivateKey(SmimeMail.Sam), mail["support.crt"], mail["stranger.crt"]]);

    public void Dispose()
    {
        _store.Dispose();
        _rules.Dispose();
    }

    // ---- Finding: a Bcc header MimeKit cannot parse stays on the To/Cc copy (InternetAddressList.Clear() on an empty
    // list does not touch the raw header), and its recipient silently gets nothing.
    [Theory]
    [InlineData("Jane Legal (counsel <secret@hidden.example>")]  // unterminated comment
    [InlineData("secret@hidden.example (Legal")]
    public void An_unparsable_Bcc_header_never_reaches_the_To_Cc_copy(string bcc)
    {
        var message = Load($"From: {Sam}\r\nTo: {Support}\r\nBcc: {bcc}\r\nSubject: s\r\nDate: Mon, 02 Jun 2025 10:00:00 +0000\r\n\r\nHello\r\n");

        var outcome = Processing().Process(message, Support, new OutgoingChoice { Sign = false, Encrypt = false });

        // Either held (fail closed: a Bcc that cannot be read is not sent around), or sent with no Bcc header at all.
        if (!outcome.IsHeld)
        {
            Assert.All(outcome.Copies, c => Assert.False(Written(c.Message).Contains("secret@hidden.example", StringComparison.OrdinalIgnoreCase) && c.BccRecipient is null,
                $"the To/Cc copy for {string.Join(",", c.Recipients)} carries: {Written(c.Message).Split("\r\n\r\n")[0]}"));
        }
    }

    // ---- Finding: Resent-Bcc is not removed from the copies (only SMTP hides it; pickup and compose --out do not).
    [Fact]
    public void A_Resent_Bcc_header_never_reaches_the_copies()
    {
        var message = Load($"From: {Sam}\r\nTo: {Support}\r\nResent-From: {Sam}\r\nResent-Bcc: {Secret}\r\nSubject: s\r\nDate: Mon, 02 Jun 2025 10:00:00 +0000\r\n\r\nHello\r\n");

        var outcome = Processing().Process(message, Support, OutgoingChoice.None);

        Assert.False(outcome.IsHeld, outcome.Hold);
        Assert.All(outcome.Copies, c => Assert.DoesNotContain(Secret, Written(c.Message), StringComparison.OrdinalIgnoreCase));
    }

    // ---- Finding: a Bcc-only message (To: undisclosed-recipients:;) cannot be encrypted at all, although each copy is
    // for one recipient whose certificate is in the store: encryption asked for holds it ("no recipient") ...
    [Fact]
    public void A_Bcc_only_message_asked_to_be_encrypted_gives_each_Bcc_recipient_an_encrypted_copy()
    {
        var message = Load($"From: {Sam}\r\nTo: undisclosed-recipients:;\r\nBcc: {Support}, {Stranger}\r\nSubject: s\r\nDate: Mon, 02 Jun 2025 10:00:00 +0000\r\n\r\nHello\r\n");

        var outcome = Processing().Process(message, Support, new OutgoingChoice { Encrypt = true, Type = SecurityResult.SmimeType });

        Assert.False(outcome.IsHeld, $"held: {outcome.Hold}");
        Assert.Equal(2, outcome.Copies.Count);
        Assert.All(outcome.Copies, c => Assert.Equal("application/pkcs7-mime", c.Message.Body!.ContentType.MimeType));
    }

    // ... and with encryption only preferred (the shipped default) every Bcc copy goes out in plaintext, and the
    // description does not say so.
    [Fact]
    public void A_Bcc_only_message_with_encryption_preferred_encrypts_each_copy_that_can_be()
    {
        var message = Load($"From: {Sam}\r\nTo: undisclosed-recipients:;\r\nBcc: {Support}, {Stranger}\r\nSubject: s\r\nDate: Mon, 02 Jun 2025 10:00:00 +0000\r\n\r\nHello\r\n");

        var outcome = Processing().Process(message, Support, OutgoingChoice.None);

        Assert.False(outcome.IsHeld, outcome.Hold);
        Assert.All(outcome.Copies, c => Assert.Equal("application/pkcs7-mime", c.Message.Body!.ContentType.MimeType));
    }

    // Same cause: To + Cc over the single-recipient rule turns encryption off for the Bcc copies too, though each is
    // for one recipient with a certificate ("every copy that can be encrypted is", e17db11).
    [Fact]
    public void With_To_and_Cc_over_the_single_recipient_rule_a_Bcc_copy_that_can_be_encrypted_still_is()
    {
        var message = Load($"From: {Sam}\r\nTo: {Support}\r\nCc: nobody@example.com\r\nBcc: {Stranger}\r\nSubject: s\r\nDate: Mon, 02 Jun 2025 10:00:00 +0000\r\n\r\nHello\r\n");

        var outcome = Processing().Process(message, Support, OutgoingChoice.None);

        Assert.False(outcome.IsHeld, outcome.Hold);
        var bcc = Assert.Single(outcome.Copies, c => c.BccRecipient == Stranger);
        Assert.Equal("application/pkcs7-mime", bcc.Message.Body!.ContentType.MimeType);
    }

    // ---- Finding: a recipient whose address does not normalize (no '@': a local alias) is dropped from the envelope
    // without a word; the message is reported sent.
    [Fact]
    public void A_Bcc_recipient_that_is_not_an_address_holds_the_message_rather_than_being_dropped_silently()
    {
        var message = Load($"From: {Sam}\r\nTo: {Support}\r\nBcc: archive\r\nSubject: s\r\nDate: Mon, 02 Jun 2025 10:00:00 +0000\r\n\r\nHello\r\n");

        var outcome = Processing().Process(message, Support, OutgoingChoice.None);

        Assert.True(outcome.IsHeld || outcome.Notes.Any(n => n.Contains("archive", StringComparison.Ordinal)),
            $"sent to {string.Join("; ", outcome.Copies.Select(c => string.Join(",", c.Recipients)))} and nobody said 'archive' was dropped");
    }

    // ---- Finding: X-RuleMail-* headers of nested parts are sent (OwnHeaders.Remove looks at the top and the root part only).
    [Fact]
    public void No_X_RuleMail_header_of_a_nested_part_is_sent()
    {
        var message = OutgoingMail.Plain(Sam, Support, "Hello");
        var attachment = new MimePart("application", "octet-stream") { Content = new MimeContent(new MemoryStream([1, 2, 3])), FileName = "a.bin" };
        attachment.Headers.Add("X-RuleMail-Encrypt", "no");
        message.Body = new Multipart("mixed") { message.Body!, attachment };

        var outcome = Processing().Process(message, Support, new OutgoingChoice { Sign = false, Encrypt = false });

        Assert.False(outcome.IsHeld, outcome.Hold);
        Assert.All(outcome.Copies, c => Assert.DoesNotContain("X-RuleMail-", Written(c.Message), StringComparison.OrdinalIgnoreCase));
    }

    // ---- Finding: the cost of one outbox message is unbounded: every Bcc recipient is one more full protect of the
    // whole body, all copies held in memory before the first is sent; no limit on recipients (or size).
    [Fact]
    public void A_message_with_thousands_of_Bcc_recipients_is_refused_not_protected_thousands_of_times()
    {
        var message = OutgoingMail.Plain(Sam, Support, new string('x', 200_000));
        message.Bcc.AddRange(Enumerable.Range(0, 2000).Select(i => new MailboxAddress(string.Empty, $"r{i}@bulk.example")));
        var clock = Stopwatch.StartNew();

        var outcome = Processing().Process(message, Support, OutgoingChoice.None);

        Assert.True(outcome.IsHeld, $"{outcome.Copies.Count} copies made in {clock.ElapsedMilliseconds} ms, all in memory at once");
    }

    // ---- Finding: a rule may set X-Sender / X-Receiver, the pickup format's envelope lines.
    [Theory]
    [InlineData("X-Receiver")]
    [InlineData("x-sender")]
    public void A_rule_may_not_set_the_pickup_envelope_headers(string header)
    {
        File.WriteAllText(Path.Combine(_rules.Path, "10-test.yaml"), $$"""
            rules:
              - name: sneaky
                on: outgoing
                then:
                  header: {"{{header}}": "<spy@evil.example>"}
            """);

        var rules = RuleSet.Load(_rules.Path);

        Assert.NotEmpty(rules.Errors);
    }

    private OutgoingProcessing Processing()
    {
        if (!Directory.EnumerateFiles(_rules.Path).Any())
        {
            File.WriteAllText(Path.Combine(_rules.Path, "10-test.yaml"), """
                rules:
                  - name: sign-and-encrypt-when-possible
                    on: outgoing
                    then: {sign: preferred, encrypt: preferred}
                """);
        }

        var rules = RuleSet.Load(_rules.Path);
        Assert.Empty(rules.Errors);
        return new OutgoingProcessing(_store.Store, new RuleSetSource(rules));
    }

    private static MimeMessage Load(string text) => MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(text)));

    private static string Written(MimeMessage message)
    {
        using var stream = new MemoryStream();
        message.WriteTo(stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
