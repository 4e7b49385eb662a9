using System.Text;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// A signature stands for the sender only when the message names exactly one: one From field with one mailbox.
/// A list, a group or a second From field (in either order) would let a good signature by one of the names vouch
/// for a message that rules, webhooks and people read as the first name's. Signatures are made by openssl and gpg;
/// the same holds for detached, opaque, clear-signed and encrypted-then-signed messages.
/// </summary>
public sealed class SenderBindingTests(SmimeMail smime, PgpMail gpg) : IClassFixture<SmimeMail>, IClassFixture<PgpMail>
{
    private const string Body = "Please pay invoice 4711 to the new account.\n";
    private const string Other = "boss@example.org";

    public static TheoryData<string, string[], string> Ambiguous => new()
    {
        { "{0}, " + Other, [], SecurityComments.MultipleSenders },
        { Other + ", {0}", [], SecurityComments.MultipleSenders },
        { "Board: " + Other + ", {0};", [], SecurityComments.MultipleSenders },
        { "Board: {0};", [], SecurityComments.MultipleSenders },
        { "{0}", ["From: " + Other], SecurityComments.MultipleSenders },
        { Other, ["From: {0}"], SecurityComments.MultipleSenders },
        { Other + " <{0}>", [], SecurityComments.NoSender },
        { "<{0}", [], SecurityComments.NoSender },
    };

    public static TheoryData<string> Kinds => ["smime-detached", "smime-opaque", "smime-signed-encrypted", "pgp-detached", "pgp-signed-encrypted", "pgp-clearsigned"];

    public static TheoryData<string, string, string[], string> AmbiguousByKind()
    {
        var data = new TheoryData<string, string, string[], string>();
        foreach (var kind in Kinds)
        {
            foreach (var row in Ambiguous)
            {
                data.Add(kind, (string)row[0], (string[])row[1], (string)row[2]);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void A_message_from_the_signer_alone_verifies_and_the_rules_see_the_signer_as_from(string kind)
    {
        using var store = Store(kind);
        var signer = SignerAddress(kind);

        var report = store.Inspect(Message(kind, signer, []), MailboxStore.Account);

        Assert.True(report.Security.Sign?.Success, report.Security.Sign?.Comment);
        var model = RuleMessage.From(report.Message, report.Security, "incoming");
        Assert.Equal(signer, model.Root["from"]!["address"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(AmbiguousByKind))]
    public void A_message_that_names_more_or_other_than_one_sender_is_never_verified(string kind, string from, string[] extra, string comment)
    {
        using var store = Store(kind);
        var signer = SignerAddress(kind);
        var headers = extra.Select(h => string.Format(System.Globalization.CultureInfo.InvariantCulture, h, signer)).ToArray();

        var report = store.Inspect(Message(kind, string.Format(System.Globalization.CultureInfo.InvariantCulture, from, signer), headers), MailboxStore.Account);

        Assert.NotNull(report.Security.Sign);
        Assert.False(report.Security.Sign.Success);
        Assert.Equal(comment, report.Security.Sign.Comment);
        if (kind.Contains("encrypted", StringComparison.Ordinal))
        {
            Assert.True(report.Security.Encryption?.Success, report.Security.Encryption?.Comment);
        }
    }

    [Fact]
    public void A_message_without_any_from_field_is_never_verified()
    {
        using var store = Store("smime-detached");
        var signed = smime.SmimeSign(IncomingMail.TextEntity(Body), SmimeMail.Sam);
        var message = Encoding.ASCII.GetBytes("To: support@rulemail.test\r\nSubject: no sender\r\n").Concat(signed).ToArray();

        var report = store.Inspect(message);

        SecurityAssert.SignFailed(report.Security, SecurityResult.SmimeType, SecurityComments.NoSender);
    }

    private MailboxStore Store(string kind) => kind.StartsWith("smime", StringComparison.Ordinal)
        ? MailboxStore.With([smime["root.crt"], smime["inter.crt"], .. smime.WithPrivateKey(SmimeMail.Support)])
        : MailboxStore.With(gpg.Public(PgpMail.Paul), gpg.Secret(PgpMail.Support));

    private static string SignerAddress(string kind) => kind.StartsWith("smime", StringComparison.Ordinal) ? "sam@example.com" : PgpMail.Address(PgpMail.Paul);

    private byte[] Message(string kind, string from, string[] extraHeaders)
    {
        var entity = IncomingMail.TextEntity(Body, "quoted-printable");
        var body = kind switch
        {
            "smime-detached" => smime.SmimeSign(entity, SmimeMail.Sam),
            "smime-opaque" => smime.SmimeSign(entity, SmimeMail.Sam, "-nodetach"),
            "smime-signed-encrypted" => smime.SmimeEncrypt(smime.SmimeSign(entity, SmimeMail.Sam), SmimeMail.Support),
            "pgp-detached" => IncomingMail.PgpSigned(entity, gpg.DetachSign(PgpMail.Paul, entity)),
            "pgp-signed-encrypted" => IncomingMail.PgpEncrypted(gpg.SignAndEncrypt(PgpMail.Paul, PgpMail.Support, entity)),
            "pgp-clearsigned" => IncomingMail.InlineText(gpg.ClearSign(PgpMail.Paul, Encoding.UTF8.GetBytes(Body))),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
        return IncomingMail.WithHeaders(body, from, MailboxStore.Account, "Sender binding", extraHeaders);
    }
}
