using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.Xml;
using MimeKit;
using RuleMail.Application;
using RuleMail.Composer;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Core.Tests.Application;

/// <summary>
/// The outgoing use case: rules see the message as it is sent (account, size, every recipient with Bcc), the rules'
/// headers are added, and Bcc recipients get copies of their own that reveal nobody and that they can read.
/// </summary>
/// <remarks>The sender sam holds a signing key; support and stranger (RSA) have certificates; eve's is EC (S/MIME cannot encrypt to it); nobody@ has none.</remarks>
public sealed class OutgoingProcessingTests(SmimeMail mail) : IClassFixture<SmimeMail>, IDisposable
{
    private const string Sam = "sam@example.com";
    private const string Support = MailboxStore.Account;
    private const string Stranger = "stranger@example.com";
    private const string Eve = "eve@example.com";
    private const string Nobody = "nobody@example.com";

    private readonly TempDirectory _rules = new("outgoing-rules");
    private readonly MailboxStore _store = MailboxStore.With(
        [mail["root.crt"], mail["inter.crt"], .. mail.WithPrivateKey(SmimeMail.Sam), mail["support.crt"], mail["stranger.crt"], mail["eve.crt"]]);

    [Fact]
    public void An_encrypted_message_with_a_Bcc_recipient_goes_out_as_two_copies_that_reveal_nobody_and_each_can_read()
    {
        var outcome = Processing().Process(Message(Sam, Support, bcc: [Stranger]), Support, Encrypted);

        Assert.False(outcome.IsHeld, outcome.Hold);
        Assert.Equal(2, outcome.Copies.Count);
        var main = outcome.Copies[0];
        var bcc = outcome.Copies[1];
        Assert.Equal([Support], main.Recipients);
        Assert.Null(main.BccRecipient);
        Assert.Empty(main.Message.Bcc);
        Assert.DoesNotContain(main.Message.Headers, h => h.Field.Equals("Bcc", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(Recipients(Support, Sam), RecipientsOf(main.Message));

        Assert.Equal([Stranger], bcc.Recipients);
        Assert.Equal(Stranger, bcc.BccRecipient);
        Assert.Equal([Stranger], bcc.Message.Bcc.Mailboxes.Select(m => m.Address));
        Assert.Equal(Recipients(Stranger, Sam), RecipientsOf(bcc.Message));
        Assert.Equal(main.Message.MessageId, bcc.Message.MessageId);
        Assert.Contains("1 Bcc copy of its own", outcome.Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Nobody, "The certificate for nobody@example.com was not found.")]
    [InlineData(Eve, "The certificate for eve@example.com was found, but RuleMail cannot encrypt to its EC key (only RSA).")]
    public void A_Bcc_recipient_whose_copy_cannot_be_encrypted_holds_the_whole_message(string bcc, string reason)
    {
        var outcome = Processing().Process(Message(Sam, Support, bcc: [bcc]), Support, Encrypted);

        Assert.True(outcome.IsHeld);
        Assert.Empty(outcome.Copies);
        Assert.Equal($"cannot encrypt the copy for the Bcc recipient {bcc} with S/MIME: {reason}", outcome.Hold);
    }

    [Fact]
    public void With_encryption_only_by_default_a_Bcc_copy_that_cannot_be_encrypted_goes_out_signed_and_says_so_while_the_others_stay_encrypted()
    {
        var outcome = Processing().Process(Message(Sam, Support, bcc: [Nobody, Stranger]), Support, OutgoingChoice.None);

        Assert.False(outcome.IsHeld, outcome.Hold);
        Assert.Equal(3, outcome.Copies.Count);
        Assert.Equal(Recipients(Support, Sam), RecipientsOf(Decrypted(outcome.Copies[0].Message)));
        Assert.Equal("multipart/signed", outcome.Copies[1].Message.Body!.ContentType.MimeType);
        Assert.Equal(Recipients(Stranger, Sam), RecipientsOf(Decrypted(outcome.Copies[2].Message)));
        Assert.Contains("Bcc nobody@example.com: not encrypted: The certificate for nobody@example.com was not found.", outcome.Notes);
        Assert.EndsWith("; not encrypted for nobody@example.com (The certificate for nobody@example.com was not found.)", outcome.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void A_plain_message_with_Bcc_also_gives_each_Bcc_recipient_a_copy_of_their_own_and_To_Cc_no_Bcc_header()
    {
        var outcome = Processing().Process(Message(Sam, Support, bcc: [Nobody, Stranger]), Support, new OutgoingChoice { Sign = false, Encrypt = false });

        Assert.False(outcome.IsHeld, outcome.Hold);
        Assert.Equal([[Support], [Nobody], [Stranger]], outcome.Copies.Select(c => c.Recipients.ToArray()));
        Assert.Empty(outcome.Copies[0].Message.Bcc);
        Assert.Equal([Nobody], outcome.Copies[1].Message.Bcc.Mailboxes.Select(m => m.Address));
        Assert.Equal([Stranger], outcome.Copies[2].Message.Bcc.Mailboxes.Select(m => m.Address));
        Assert.All(outcome.Copies, c => Assert.Equal("Hello", Assert.IsType<TextPart>(c.Message.Body).Text));
    }

    [Fact]
    public void The_outgoing_rules_see_the_account_the_size_as_sent_and_the_Bcc_recipients()
    {
        Rule("""
            rules:
              - name: bcc-to-stranger-needs-review
                on: outgoing
                when:
                  all:
                    - account: support@rulemail.test
                    - bcc.address: stranger@example.com
                    - size: {gt: 100}
                then:
                  hold: a copy to a stranger needs review
            """);

        var held = Processing().Process(Message(Sam, Support, bcc: [Stranger]), Support, OutgoingChoice.None);
        var elsewhere = Processing().Process(Message(Sam, Support, bcc: [Stranger]), "other@rulemail.test", OutgoingChoice.None);

        Assert.Equal("held by the outgoing rules: a copy to a stranger needs review", held.Hold);
        Assert.False(elsewhere.IsHeld, elsewhere.Hold);
        var trace = Assert.Single(held.Rules.Trace);
        Assert.True(trace.Matched);
    }

    [Fact]
    public void A_rules_header_is_set_on_every_copy_sent_and_choice_headers_never_leave()
    {
        Rule("""
            rules:
              - name: tag-tickets
                on: outgoing
                then:
                  header: {X-Ticket: "42"}
            """);
        var message = Message(Sam, Support, bcc: [Stranger]);
        message.Headers.Add(OutgoingChoice.EncryptHeader, "yes");

        var outcome = Processing().ProcessSubmitted(message, Support);

        Assert.False(outcome.IsHeld, outcome.Hold);
        Assert.All(outcome.Copies, c =>
        {
            Assert.Equal(["42"], c.Message.Headers.Where(h => h.Field == "X-Ticket").Select(h => h.Value)); // It replaces the 4711 the message had.
            Assert.DoesNotContain(c.Message.Headers, h => OwnHeaders.IsOwn(h.Field));
        });
    }

    [Theory]
    [InlineData("To")]
    [InlineData("bcc")]
    [InlineData("Content-Type")]
    [InlineData("Message-ID")]
    public void A_rule_may_not_set_the_messages_own_addresses_identity_or_structure(string header)
    {
        Rule($$"""
            rules:
              - name: sneaky
                on: outgoing
                then:
                  header: {"{{header}}": "x@example.org"}
            """);

        var rules = RuleSet.Load(_rules.Path);

        var error = Assert.Single(rules.Errors);
        Assert.Contains($"'{header}': a rule adds headers; it cannot set the message's own", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_misspelt_choice_header_holds_the_message_before_any_rule_runs()
    {
        var message = Message(Sam, Support);
        message.Headers.Add("X-RuleMail-Encrpyt", "yes");

        var outcome = Processing().ProcessSubmitted(message, Support);

        Assert.True(outcome.IsHeld);
        Assert.StartsWith("X-RuleMail-Encrpyt: not a RuleMail header", outcome.Hold, StringComparison.Ordinal);
        Assert.Empty(outcome.Rules.Trace);
    }

    [Fact]
    public void The_same_content_gets_the_same_Message_ID_so_a_repeat_is_recognisable()
    {
        var first = Message(Sam, Support);
        var second = Message(Sam, Support);
        first.Headers.Remove(HeaderId.MessageId);
        second.Headers.Remove(HeaderId.MessageId);

        var a = Processing().Process(first, Support, OutgoingChoice.None);
        var b = Processing().Process(second, Support, OutgoingChoice.None);

        Assert.Matches("^[0-9a-f]{32}@example[.]com$", a.Copies[0].Message.MessageId);
        Assert.Equal(a.Copies[0].Message.MessageId, b.Copies[0].Message.MessageId);
    }

    [Fact]
    public void Options_count_To_and_Cc_for_the_single_recipient_rule_and_see_the_draft_as_Process_would()
    {
        Rule("""
            rules:
              - name: never-encrypt-for-bcc
                on: outgoing
                when:
                  bcc.address: stranger@example.com
                then:
                  encrypt: never
            """);

        var withBcc = Processing().Options(new OutgoingDraft(Sam, [Support], [], [Stranger], Support));
        var without = Processing().Options(new OutgoingDraft(Sam, [Support], [], [], Support));

        Assert.True(withBcc.Options.Smime.Encryption.Possible, withBcc.Options.Smime.Encryption.Message);
        Assert.False(withBcc.Options.Encrypt.Active);
        Assert.True(without.Options.Encrypt.Active);
    }

    public void Dispose()
    {
        _store.Dispose();
        _rules.Dispose();
    }

    private static OutgoingChoice Encrypted { get; } = new() { Encrypt = true, Type = SecurityResult.SmimeType };

    private OutgoingProcessing Processing()
    {
        if (!Directory.EnumerateFiles(_rules.Path).Any())
        {
            Rule("""
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

    private void Rule(string yaml) => File.WriteAllText(Path.Combine(_rules.Path, "10-test.yaml"), yaml);

    private static MimeMessage Message(string from, string to, IReadOnlyList<string>? bcc = null)
    {
        var message = OutgoingMail.Plain(from, to, "Hello");
        message.Bcc.AddRange((bcc ?? []).Select(a => MailboxAddress.Parse(a)));
        return message;
    }

    private static string[] Recipients(params string[] names) =>
        [.. names.Select(n => SmimeMail.LoadCertificate(n.Split('@')[0]).SerialNumber).Order(StringComparer.Ordinal)];

    /// <summary>A signed-then-encrypted copy as encrypted: its outer layer (the encrypted one) is what the recipients are read from.</summary>
    private static MimeMessage Decrypted(MimeMessage message) => message;

    /// <summary>The serial numbers of the certificates a copy is encrypted to (issuer-and-serial recipient identifiers).</summary>
    private static string[] RecipientsOf(MimeMessage message)
    {
        var cms = new EnvelopedCms();
        cms.Decode(OutgoingMail.Decoded(Assert.IsAssignableFrom<MimePart>(message.Body)));
        return [.. cms.RecipientInfos.Cast<RecipientInfo>()
            .Select(r => ((X509IssuerSerial)r.RecipientIdentifier.Value!).SerialNumber).Order(StringComparer.Ordinal)];
    }
}
