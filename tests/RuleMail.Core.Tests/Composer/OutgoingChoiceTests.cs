using System.Text;
using MimeKit;
using RuleMail.Crypto;
using RuleMail.Composer;

namespace RuleMail.Core.Tests.Composer;

/// <summary>The composer's choice as an outbox message carries it: <c>X-RuleMail-Sign/Encrypt/Type</c>.</summary>
public sealed class OutgoingChoiceTests
{
    private static MimeMessage Message(params string[] headers)
    {
        var text = "From: support@org.example\r\nTo: alice@customer.example\r\nSubject: x\r\n"
            + string.Concat(headers.Select(h => h + "\r\n"))
            + "Content-Type: text/plain\r\n\r\nbody\r\n";
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(text));
        return MimeMessage.Load(stream);
    }

    private static OutgoingChoice Read(params string[] headers)
    {
        Assert.True(OutgoingChoice.TryFromHeaders(Message(headers), out var choice, out var error), error);
        return choice;
    }

    private static string Error(params string[] headers)
    {
        Assert.False(OutgoingChoice.TryFromHeaders(Message(headers), out var choice, out var error));
        Assert.Null(choice);
        return error;
    }

    [Fact]
    public void A_message_without_the_headers_chooses_nothing()
    {
        Assert.Equal(OutgoingChoice.None, Read());
        Assert.Equal(new OutgoingChoice(), Read("X-Mailer: ticket system"));
    }

    [Theory]
    [InlineData("yes", true)]
    [InlineData("no", false)]
    [InlineData("YES", true)]
    [InlineData(" No  ", false)]
    [InlineData("yEs", true)]
    public void Sign_and_encrypt_are_yes_or_no_in_any_case_trimmed(string value, bool expected)
    {
        Assert.Equal(new OutgoingChoice { Sign = expected }, Read($"X-RuleMail-Sign: {value}"));
        Assert.Equal(new OutgoingChoice { Encrypt = expected }, Read($"X-RuleMail-Encrypt: {value}"));
    }

    [Theory]
    [InlineData("smime", SecurityResult.SmimeType)]
    [InlineData("SMIME", SecurityResult.SmimeType)]
    [InlineData("S/MIME", SecurityResult.SmimeType)]
    [InlineData(" pgp ", SecurityResult.PgpType)]
    [InlineData("PGP", SecurityResult.PgpType)]
    public void The_type_is_smime_or_pgp_in_any_case(string value, string expected)
    {
        Assert.Equal(new OutgoingChoice { Type = expected }, Read($"X-RuleMail-Type: {value}"));
    }

    [Fact]
    public void All_three_together_and_header_names_in_any_case()
    {
        var choice = Read("x-rulemail-sign: no", "X-RULEMAIL-ENCRYPT: yes", "X-Rulemail-Type: pgp");

        Assert.Equal(new OutgoingChoice { Sign = false, Encrypt = true, Type = SecurityResult.PgpType }, choice);
    }

    [Theory]
    [InlineData("X-RuleMail-Encrypt: maybe", "X-RuleMail-Encrypt: 'maybe' is not yes or no")]
    [InlineData("X-RuleMail-Sign: true", "X-RuleMail-Sign: 'true' is not yes or no")]
    [InlineData("X-RuleMail-Sign: y", "X-RuleMail-Sign: 'y' is not yes or no")]
    [InlineData("X-RuleMail-Encrypt:", "X-RuleMail-Encrypt: '' is not yes or no")]
    [InlineData("X-RuleMail-Type: gpg", "X-RuleMail-Type: 'gpg' is not smime or pgp")]
    [InlineData("X-RuleMail-Type: ", "X-RuleMail-Type: '' is not smime or pgp")]
    public void A_value_that_is_not_in_the_contract_is_an_error_that_quotes_it(string header, string expected)
    {
        Assert.Equal(expected, Error(header));
    }

    [Fact]
    public void A_header_given_twice_counts_once_when_the_values_agree_and_is_an_error_when_they_do_not()
    {
        Assert.Equal(new OutgoingChoice { Encrypt = true }, Read("X-RuleMail-Encrypt: yes", "X-RuleMail-Encrypt: YES"));
        Assert.Equal("X-RuleMail-Encrypt: given more than once, with different values", Error("X-RuleMail-Encrypt: yes", "X-RuleMail-Encrypt: no"));
        Assert.Equal("X-RuleMail-Type: given more than once, with different values", Error("X-RuleMail-Type: smime", "X-RuleMail-Type: pgp"));
    }

    [Fact]
    public void A_misspelt_or_unknown_rulemail_header_is_an_error_not_ignored()
    {
        var error = Error("X-RuleMail-Encrpyt: yes");

        Assert.Equal("X-RuleMail-Encrpyt: not a RuleMail header (only X-RuleMail-Sign, X-RuleMail-Encrypt and X-RuleMail-Type are)", error);
    }

    [Fact]
    public void RemoveHeaders_removes_every_rulemail_header_in_any_case_and_keeps_the_others()
    {
        var message = Message("X-RuleMail-Sign: yes", "x-rulemail-encrypt: maybe", "X-RULEMAIL-Type: pgp", "X-RuleMail-Other: 1", "X-Mailer: ticket system");
        message.Body!.Headers.Add("X-RuleMail-Encrypt", "no");

        OutgoingChoice.RemoveHeaders(message);

        Assert.DoesNotContain(message.Headers, h => h.Field.StartsWith("X-RuleMail-", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(message.Body.Headers, h => h.Field.StartsWith("X-RuleMail-", StringComparison.OrdinalIgnoreCase));
        Assert.Equal("ticket system", message.Headers["X-Mailer"]);
        Assert.Equal("x", message.Subject);
        Assert.Equal("text/plain", message.Body.ContentType.MimeType);
        Assert.True(OutgoingChoice.TryFromHeaders(message, out var after, out _));
        Assert.Equal(OutgoingChoice.None, after);
    }
}
