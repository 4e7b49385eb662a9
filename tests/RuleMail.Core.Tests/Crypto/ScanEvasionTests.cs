using System.Text;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// Hostile review of <c>StructureScan</c>: headers that MimeKit 4.18 parses (and pays for) but the scan never bounds,
/// because the two read a part's type differently. Each message hides 40,000 folded lines (MimeKit allocates about
/// 190 MB for them; 200,000 lines 4.8 GB, a 24 MB line 67 GB and 10 s) or 30,000 parts behind one trick. The same
/// payload behind a plain message/rfc822 is refused as damaged (the control), so each of these must be too.
/// </summary>
public sealed class ScanEvasionTests : IDisposable
{
    private const long Megabyte = 1024 * 1024;
    private const string Head = "From: alice@customer.test\r\nTo: support@rulemail.test\r\nSubject: evasion\r\nMIME-Version: 1.0\r\n";
    private readonly MailboxStore _store = MailboxStore.With();

    /// <summary>An attached message whose one header is folded over 40,000 lines (the bound is 5,000).</summary>
    private static readonly string Folded = "From: x@customer.test\r\nX-Fold: a\r\n" + string.Concat(Enumerable.Repeat(" b\r\n", 40_000)) + "\r\nbody\r\n";

    public static TheoryData<string> Tricks =>
    [
        // The control: refused today.
        "message/rfc822",

        // MimeKit parses message/external-body as a MessagePart (ParserOptions.CreateEntity); the scan skips it.
        "message/external-body",

        // ContentType.TryParse returns false but hands out message/rfc822: MimeKit's GetContentType uses the partial
        // result, the scan (which keeps only a successful parse) reads text/plain and stops at the top level.
        "message/rfc822 with junk after the subtype",
        "message/rfc822 with an unclosed comment",

        // A first header line that starts with white space is a pre-header line MimeKit ignores; the scan trims it and
        // takes it as the part's Content-Type (or Content-Transfer-Encoding), so MimeKit's real one is never seen.
        "a leading-space Content-Type before the real one",
        "a leading-space Content-Transfer-Encoding: base64 before the real Content-Type",

        // boundary="" is no boundary to the scan (IsNullOrEmpty), but MimeKit pushes it: every "--" line is a delimiter.
        "an empty boundary",
    ];

    [Theory]
    [MemberData(nameof(Tricks))]
    public void An_attached_message_with_40000_folded_lines_is_damaged_whatever_wraps_it(string trick)
    {
        var message = Encoding.ASCII.GetBytes(Wrap(trick, Folded));

        var before = GC.GetAllocatedBytesForCurrentThread();
        var report = _store.Inspect(message);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.False(report.Security.Sign?.Success ?? true, $"{trick}: not judged damaged (allocated {allocated / Megabyte} MB)");
        Assert.True(allocated < 16 * Megabyte, $"{trick}: judging allocated {allocated / Megabyte} MB");
    }

    [Fact]
    public void Thirty_thousand_parts_behind_an_empty_boundary_are_over_the_part_bound()
    {
        var parts = string.Concat(Enumerable.Repeat("--\r\nX: y\r\n\r\nz\r\n", 30_000));
        var message = Encoding.ASCII.GetBytes(Head + "Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n" + parts + "----\r\n");

        var report = _store.Inspect(message);

        Assert.False(report.Security.Sign?.Success ?? true, "30,000 parts (bound 10,000) were parsed without a verdict");
    }

    private static string Wrap(string trick, string inner) => trick switch
    {
        "message/rfc822" => Head + "Content-Type: message/rfc822\r\n\r\n" + inner,
        "message/external-body" => Head + "Content-Type: message/external-body; access-type=local-file; name=x\r\n\r\n" + inner,
        "message/rfc822 with junk after the subtype" => Head + "Content-Type: message/rfc822 junk\r\n\r\n" + inner,
        "message/rfc822 with an unclosed comment" => Head + "Content-Type: message/rfc822; (unclosed\r\n\r\n" + inner,
        "a leading-space Content-Type before the real one" =>
            Head + "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n Content-Type: text/plain\r\nContent-Type: message/rfc822\r\n\r\n" + inner + "\r\n--o--\r\n",
        "a leading-space Content-Transfer-Encoding: base64 before the real Content-Type" =>
            Head + "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n Content-Transfer-Encoding: base64\r\nContent-Type: message/rfc822\r\n\r\n" + inner + "\r\n--o--\r\n",
        "an empty boundary" => Head + "Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n" + inner + "----\r\n",
        _ => throw new ArgumentOutOfRangeException(nameof(trick), trick, null),
    };

    public void Dispose() => _store.Dispose();
}
