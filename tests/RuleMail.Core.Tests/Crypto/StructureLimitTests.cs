using System.Text;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// Hostile structure is bounded before MIME parsing: header blocks and fields, folds, parameters, parts and depth
/// are counted in one pass and a message over a bound is damaged (a signature failure that says which bound), at
/// the cost of reading it once. Each case once cost MimeKit more than linear time and memory. Cost is asserted as
/// memory allocated while judging (deterministic), never as wall-clock time; honest mail of the same size passes.
/// </summary>
public sealed class StructureLimitTests : IDisposable
{
    private const long Megabyte = 1024 * 1024;
    private static readonly string Head = "From: alice@customer.test\r\nTo: support@rulemail.test\r\nSubject: limits\r\nMIME-Version: 1.0\r\n";
    private readonly MailboxStore _store = MailboxStore.With();

    public static TheoryData<string, string> Hostile => new()
    {
        { "50 MB header line", "a header field is larger than 256 KB" },
        { "80,000 folded lines", "a header field is folded over more than 5,000 lines" },
        { "40,000 RFC 2231 continuations", "a Content header has more than 1,000 parameters" },
        { "10,922 parameters on one line", "a Content header has more than 1,000 parameters" },
        { "2 MB header block of short fields", "a header block is larger than 1,024 KB (security.max_header_kb)" },
        { "400,000 parts", "it has more than 10,000 MIME parts (security.max_mime_parts)" },
        { "100 levels of multipart", "its MIME structure is nested more than 64 levels deep" },
        { "50 MB header line in a nested part", "a header field is larger than 256 KB" },
        { "folded header after a line that is not a header", "a header field is folded over more than 5,000 lines" },
        { "huge header inside an attached message", "a header field is larger than 256 KB" },
        { "100,000 recipients", "a header field is larger than 256 KB" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void Hostile_structure_is_damaged_at_the_cost_of_reading_it_once(string name, string problem)
    {
        var message = Make(name);

        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var report = _store.Inspect(message);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

        Assert.Null(report.Security.Encryption);
        SecurityAssert.SignFailed(report.Security, null!, SecurityComments.StructureTooLarge(problem));
        Assert.True(allocated < 8 * Megabyte, $"{name}: judging allocated {allocated / Megabyte} MB");
    }

    [Fact]
    public void A_message_over_a_bound_in_its_body_keeps_its_top_headers_for_the_rules()
    {
        var report = _store.Inspect(Make("400,000 parts"));

        Assert.Equal("limits", report.Message.Subject);
        Assert.Equal("alice@customer.test", report.Message.From.Mailboxes.Single().Address);
    }

    [Fact]
    public void The_limits_follow_the_policy()
    {
        var message = Make("2 MB header block of short fields");

        var report = _store.Inspect(message, policy: SecurityPolicy.Default with { MaxHeaderBytes = 4 * 1024 * 1024 });

        Assert.Null(report.Security.Sign);
    }

    [Fact]
    public void Headers_that_cannot_be_parsed_are_damaged_not_an_exception()
    {
        var report = _store.Inspect(Encoding.ASCII.GetBytes(": no name\r\n\r\nbody\r\n"));

        Assert.False(report.Security.Sign?.Success);
        Assert.StartsWith(SecurityComments.Malformed(string.Empty), report.Security.Sign!.Comment, StringComparison.Ordinal);
    }

    public static TheoryData<string> Honest => new()
    {
        "a 20 MB base64 attachment",
        "a 400 KB HTML line after an HTML comment end",
        "lines that look like other boundaries",
        "a base64 attached message",
        "3,000 recipients",
        "a multipart digest",
    };

    [Theory]
    [MemberData(nameof(Honest))]
    public void Honest_mail_of_the_same_shapes_is_not_damaged(string name)
    {
        var report = _store.Inspect(Make(name));

        Assert.Null(report.Security.Sign);
        Assert.NotNull(report.Message.Body);
    }

    [Fact]
    public void A_line_that_only_starts_like_the_outer_boundary_does_not_end_the_inner_multipart()
    {
        // MimeKit takes "--outerX" for content, not for the outer boundary; were the scan to think otherwise, it would
        // lose the inner multipart and miss the huge header of the inner part that follows.
        var huge = new string('x', 300 * 1024);
        var message = Head + "Content-Type: multipart/mixed; boundary=outer\r\n\r\n--outer\r\nContent-Type: multipart/mixed; boundary=inner\r\n\r\n" +
                      "--inner\r\n\r\n--outerX\r\n--inner\r\nX-Huge: " + huge + "\r\n\r\nbody\r\n--inner--\r\n--outer--\r\n";

        var report = _store.Inspect(Encoding.ASCII.GetBytes(message));

        SecurityAssert.SignFailed(report.Security, null!, SecurityComments.StructureTooLarge("a header field is larger than 256 KB"));
    }

    private static byte[] Make(string name)
    {
        var text = new StringBuilder(Head);
        switch (name)
        {
            case "50 MB header line":
                return Bytes(text.Append("X-Long: ").Append('x', 50 * 1024 * 1024).Append("\r\n\r\nbody\r\n"));
            case "80,000 folded lines":
                text.Append("X-Folded: a");
                for (var i = 0; i < 80_000; i++)
                {
                    text.Append("\r\n b");
                }

                return Bytes(text.Append("\r\n\r\nbody\r\n"));
            case "40,000 RFC 2231 continuations":
                text.Append("Content-Type: text/plain");
                for (var i = 0; i < 40_000; i++)
                {
                    text.Append(";\r\n name*").Append(i).Append("=\"ab\"");
                }

                return Bytes(text.Append("\r\n\r\nbody\r\n"));
            case "10,922 parameters on one line":
                text.Append("Content-Disposition: attachment");
                for (var i = 0; i < 10_922; i++)
                {
                    text.Append("; p").Append(i).Append("=v");
                }

                return Bytes(text.Append("\r\n\r\nbody\r\n"));
            case "2 MB header block of short fields":
                for (var i = 0; i < 100_000; i++)
                {
                    text.Append("X-Field-").Append(i).Append(": value\r\n");
                }

                return Bytes(text.Append("\r\nbody\r\n"));
            case "400,000 parts":
                text.Append("Content-Type: multipart/mixed; boundary=b\r\n\r\n");
                for (var i = 0; i < 400_000; i++)
                {
                    text.Append("--b\r\n\r\nx\r\n");
                }

                return Bytes(text.Append("--b--\r\n"));
            case "100 levels of multipart":
                text.Append("Content-Type: multipart/mixed; boundary=b0\r\n\r\n");
                for (var i = 1; i <= 100; i++)
                {
                    text.Append("--b").Append(i - 1).Append("\r\nContent-Type: multipart/mixed; boundary=b").Append(i).Append("\r\n\r\n");
                }

                return Bytes(text.Append("--b100\r\n\r\nx\r\n"));
            case "50 MB header line in a nested part":
                text.Append("Content-Type: multipart/mixed; boundary=\"=_outer\"\r\n\r\npreamble\r\n--=_outer\r\nContent-Type: multipart/alternative;\r\n boundary=inner\r\n\r\n");
                text.Append("--inner\r\nContent-Type: text/plain\r\n\r\nfine\r\n--inner\r\nX-Long: ").Append('x', 50 * 1024 * 1024);
                return Bytes(text.Append("\r\n\r\nbody\r\n--inner--\r\n--=_outer--\r\n"));
            case "folded header after a line that is not a header":
                // MimeKit keeps reading headers past a line without a colon; so does the scan.
                text.Append("this line is not a header\r\nX-Folded: a");
                for (var i = 0; i < 80_000; i++)
                {
                    text.Append("\r\n b");
                }

                return Bytes(text.Append("\r\n\r\nbody\r\n"));
            case "huge header inside an attached message":
                text.Append("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@y.test\r\nSubject: ");
                return Bytes(text.Append('x', 2 * 1024 * 1024).Append("\r\n\r\ninner\r\n--b--\r\n"));
            case "100,000 recipients":
                return Recipients(text, 100_000);
            case "a 20 MB base64 attachment":
                text.Append("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--b\r\n");
                text.Append("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n");
                var line = Convert.ToBase64String(new byte[57]);
                for (var i = 0; i < 20 * 1024 * 1024 / 76; i++)
                {
                    text.Append(line).Append("\r\n");
                }

                return Bytes(text.Append("--b--\r\n"));
            case "a 400 KB HTML line after an HTML comment end":
                text.Append("Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<!-- style\r\n-->\r\n<div>");
                return Bytes(text.Append('y', 400 * 1024).Append("</div>\r\n--b--\r\n"));
            case "lines that look like other boundaries":
                text.Append("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n");
                for (var i = 0; i < 20_000; i++)
                {
                    text.Append("-- ").Append(i).Append(" --bogus\r\n--bx\r\n");
                }

                return Bytes(text.Append("--b--\r\n"));
            case "a base64 attached message":
                text.Append("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n");
                var encoded = Convert.ToBase64String(Encoding.ASCII.GetBytes("From: x@y.test\r\nSubject: inner\r\n\r\n" + new string('z', 3 * 1024 * 1024)), Base64FormattingOptions.InsertLineBreaks);
                return Bytes(text.Append(encoded).Append("\r\n--b--\r\n"));
            case "3,000 recipients":
                return Recipients(text, 3_000);
            case "a multipart digest":
                text.Append("Content-Type: multipart/digest; boundary=d\r\n\r\n");
                for (var i = 0; i < 100; i++)
                {
                    text.Append("--d\r\n\r\nFrom: digest").Append(i).Append("@list.test\r\nSubject: part ").Append(i).Append("\r\n\r\ntext\r\n");
                }

                return Bytes(text.Append("--d--\r\n"));
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, null);
        }
    }

    private static byte[] Recipients(StringBuilder text, int count)
    {
        text.Append("Cc: ");
        for (var i = 0; i < count; i++)
        {
            // Folded as mail clients fold, three addresses a line.
            text.Append(i == 0 ? string.Empty : i % 3 == 0 ? ",\r\n " : ", ").Append("user").Append(i).Append("@example.org");
        }

        return Bytes(text.Append("\r\n\r\nbody\r\n"));
    }

    private static byte[] Bytes(StringBuilder text) => Encoding.ASCII.GetBytes(text.ToString());

    public void Dispose() => _store.Dispose();
}
