using RuleMail.Core.Tests.Support;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// The view of a decrypted or unwrapped message keeps the outer headers: whoever encrypts to the desk can write any
/// From, Sender, To or Subject into the inner entity, and those must never join the real ones when the view is
/// written (<c>check --out</c>) or read again. Only the inner entity's Content-* headers reach the view.
/// </summary>
public sealed class InnerHeaderTests(SmimeMail smime, PgpMail gpg) : IClassFixture<SmimeMail>, IClassFixture<PgpMail>
{
    private const string Outer = "stranger@example.org";

    private static readonly string[] Forged =
    [
        "From: ceo@board.test",
        "Sender: ceo@board.test",
        "Reply-To: ceo@board.test",
        "To: all@board.test",
        "Subject: Wire the money today",
        "Message-ID: <forged@board.test>",
        "MIME-Version: 1.0",
    ];

    public static TheoryData<string> Kinds => ["smime-encrypted", "smime-opaque", "pgp-encrypted"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Inner_headers_never_reach_the_written_view(string kind)
    {
        using var store = MailboxStore.With([smime["root.crt"], smime["inter.crt"], .. smime.WithPrivateKey(SmimeMail.Support), gpg.Secret(PgpMail.Support)]);
        var entity = IncomingMail.TextEntity("Hello.\n", "quoted-printable", Forged);
        var body = kind switch
        {
            "smime-encrypted" => smime.SmimeEncrypt(entity, SmimeMail.Support),
            "smime-opaque" => smime.SmimeSign(entity, SmimeMail.Sam, "-nodetach"),
            _ => IncomingMail.PgpEncrypted(gpg.Encrypt(PgpMail.Support, entity)),
        };
        var message = IncomingMail.WithHeaders(body, Outer, MailboxStore.Account, "Outer subject");

        var report = store.Inspect(message);
        var written = IncomingMail.Load(IncomingMail.Serialize(report.Message));

        Assert.NotNull(kind == "smime-opaque" ? report.Security.Sign : report.Security.Encryption);
        Assert.Equal("Hello.", IncomingMail.TextOf(written).Trim());
        Assert.Equal(Outer, written.From.Mailboxes.Single().Address);
        Assert.Equal("Outer subject", written.Subject);
        Assert.Single(written.Headers, h => h.Field.Equals("Subject", StringComparison.OrdinalIgnoreCase));
        Assert.Null(written.Sender);
        Assert.Empty(written.ReplyTo);
        Assert.Equal(MailboxStore.Account, written.To.Mailboxes.Single().Address);
        Assert.DoesNotContain(written.Headers, h => h.Value.Contains("board.test", StringComparison.OrdinalIgnoreCase));
        Assert.True(written.Body!.Headers.All(h => h.Field.StartsWith("Content-", StringComparison.OrdinalIgnoreCase)));
    }
}
