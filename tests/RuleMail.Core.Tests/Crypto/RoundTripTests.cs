using System.Text;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// Round trips over bodies that break naive canonicalization: lines starting with "From ", trailing
/// whitespace, dash lines, non-ASCII text, no final newline, plus a few bodies generated from those pieces with
/// a fixed seed (FsCheck is not available; these rows stand in for its generated cases). Whatever openssl or
/// gpg signs verifies, and whatever they encrypt decrypts to the same text.
/// </summary>
public sealed class RoundTripTests(SmimeMail mail, PgpMail gpg, RoundTripTests.Stores stores)
    : IClassFixture<SmimeMail>, IClassFixture<PgpMail>, IClassFixture<RoundTripTests.Stores>
{
    private static readonly string[] Pieces =
    [
        "From the help desk", "From ", ">From quoted", "trailing spaces   ", "trailing tab\t", "-", "- item", "-- ", "---",
        "-----BEGIN PGP SIGNATURE-----", "--boundary-like", ".", "..", "=3D not encoded", "Grüße aus Köln", "Zoë – “quotes”",
        "日本語のテキスト", "✅🔒 emoji", "   leading spaces", string.Empty, "plain words here", new string('w', 300),
    ];

    public static TheoryData<string, string> Bodies()
    {
        var data = new TheoryData<string, string>
        {
            { "From lines", "From the help desk\nFrom here on, lines start with From \n>From quoted\n" },
            { "trailing whitespace", "trailing spaces   \ntrailing tab\t\n  leading spaces\nend\n" },
            { "dash lines", "-\n- item\n-- \n---\n-----BEGIN PGP SIGNATURE-----\n--boundary-like\n" },
            { "non-ASCII", "Grüße aus Köln – Zoë, “quotes”, 日本語, ✅🔒\n" },
            { "no final newline", "The last line has no newline" },
            { "blank lines", "\n\nstarts with blank lines\n\n\nand ends with them\n\n" },
        };
        var random = new Random(20250701);
        for (var i = 0; i < 4; i++)
        {
            var lines = Enumerable.Range(0, random.Next(3, 12)).Select(_ => Pieces[random.Next(Pieces.Length)]);
            data.Add($"generated #{i + 1}", string.Join('\n', lines) + (random.Next(2) == 0 ? "\n" : string.Empty));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public void A_body_signed_by_openssl_in_8bit_verifies_and_reads_back_the_same(string name, string body) =>
        SmimeSigned(name, body, "8bit");

    [Theory]
    [MemberData(nameof(Bodies))]
    public void A_body_signed_by_openssl_in_quoted_printable_verifies_and_reads_back_the_same(string name, string body) =>
        SmimeSigned(name, body, "quoted-printable");

    [Theory]
    [MemberData(nameof(Bodies))]
    public void A_body_encrypted_by_openssl_decrypts_to_the_same_text(string name, string body)
    {
        var message = IncomingMail.WithHeaders(mail.CmsEncrypt(IncomingMail.TextEntity(body), SmimeMail.Support), "sam@example.com", MailboxStore.Account, name);

        var report = stores.Smime.Inspect(message);

        SecurityAssert.Decrypted(report.Security, SecurityResult.SmimeType);
        Assert.Equal(IncomingMail.Normalized(body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public void A_body_signed_by_gpg_in_8bit_verifies_and_reads_back_the_same(string name, string body) =>
        PgpSigned(name, body, "8bit");

    [Theory]
    [MemberData(nameof(Bodies))]
    public void A_body_signed_by_gpg_in_quoted_printable_verifies_and_reads_back_the_same(string name, string body) =>
        PgpSigned(name, body, "quoted-printable");

    [Theory]
    [MemberData(nameof(Bodies))]
    public void A_body_encrypted_by_gpg_as_pgp_mime_decrypts_to_the_same_text(string name, string body)
    {
        var armored = gpg.Encrypt(PgpMail.Desk, IncomingMail.TextEntity(body));
        var message = IncomingMail.WithHeaders(IncomingMail.PgpEncrypted(armored), "erik@example.net", PgpMail.Address(PgpMail.Desk), name);

        var report = stores.Pgp.Inspect(message);

        SecurityAssert.Decrypted(report.Security, SecurityResult.PgpType);
        Assert.Equal(IncomingMail.Normalized(body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public void A_body_encrypted_by_gpg_inline_decrypts_to_the_same_text(string name, string body)
    {
        var armored = gpg.Encrypt(PgpMail.Support, Encoding.UTF8.GetBytes(body));
        var message = IncomingMail.WithHeaders(IncomingMail.InlineText(armored), "paul@example.net", MailboxStore.Account, name);

        var report = stores.Pgp.Inspect(message);

        SecurityAssert.Decrypted(report.Security, SecurityResult.PgpType);
        Assert.Equal(IncomingMail.Normalized(body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public void A_body_cleartext_signed_by_gpg_verifies(string name, string body)
    {
        var clearSigned = gpg.ClearSign(PgpMail.Paul, Encoding.UTF8.GetBytes(body));
        var message = IncomingMail.WithHeaders(IncomingMail.InlineText(clearSigned), "paul@example.net", MailboxStore.Account, name);

        var report = stores.Pgp.Inspect(message);

        SecurityAssert.Signed(report.Security, SecurityResult.PgpType);
    }

    private void SmimeSigned(string name, string body, string transferEncoding)
    {
        var signed = mail.SmimeSign(IncomingMail.TextEntity(body, transferEncoding), SmimeMail.Sam);
        var message = IncomingMail.WithHeaders(signed, "sam@example.com", MailboxStore.Account, name);

        var report = stores.Smime.Inspect(message);

        SecurityAssert.Signed(report.Security, SecurityResult.SmimeType);
        Assert.Equal(IncomingMail.Normalized(body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
    }

    private void PgpSigned(string name, string body, string transferEncoding)
    {
        var part = IncomingMail.TextEntity(body, transferEncoding);
        var message = IncomingMail.WithHeaders(IncomingMail.PgpSigned(part, gpg.DetachSign(PgpMail.Erik, part)), "erik@example.net", MailboxStore.Account, name);

        var report = stores.Pgp.Inspect(message);

        SecurityAssert.Signed(report.Security, SecurityResult.PgpType);
        Assert.Equal(IncomingMail.Normalized(body), IncomingMail.Normalized(IncomingMail.TextOf(report.Message)));
    }

    /// <summary>One S/MIME and one OpenPGP store for every round trip: inspecting never changes a store.</summary>
    public sealed class Stores : IDisposable
    {
        public Stores()
        {
            Smime = MailboxStore.With(
                Material(SmimeMail.Files, "root.crt"), Material(SmimeMail.Files, "inter.crt"),
                Material(SmimeMail.Files, "support.crt"), Material(SmimeMail.Files, "support.key"));
            Pgp = MailboxStore.With(
                Material(PgpMail.Files, "support.sec.asc"), Material(PgpMail.Files, "desk.sec.asc"),
                Material(PgpMail.Files, "paul.pub.asc"), Material(PgpMail.Files, "erik.pub.asc"));
        }

        internal MailboxStore Smime { get; }

        internal MailboxStore Pgp { get; }

        public void Dispose()
        {
            Smime.Dispose();
            Pgp.Dispose();
        }

        private static RuleMail.Keys.ImportFile Material(IReadOnlyDictionary<string, byte[]> files, string name) => new(name, files[name]);
    }
}
