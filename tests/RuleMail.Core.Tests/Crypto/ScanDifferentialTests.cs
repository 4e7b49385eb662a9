using System.Text;
using FsCheck;
using FsCheck.Fluent;
using MimeKit;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// Differential check of <see cref="StructureScan"/> against MimeKit's own reading: MimeKit's event reader
/// (<see cref="MimeReader"/>, the parser's logic with callbacks) is the oracle. Over generated structures built from
/// the tricks that once hid header blocks from the scan (message/* subtypes, broken Content-Types, encodings, empty
/// and look-alike boundaries, white space and junk lines, digests, nesting), whenever the scan finds nothing wrong,
/// MimeKit must not meet a header field or header block larger than the bound, nor more entities than the part bound.
/// The bounds are lowered (4 KB of header, 20 parts) so that small messages reach them.
/// </summary>
public sealed class ScanDifferentialTests
{
    private const int HeaderBytes = 4096;
    private const int Parts = 20;
    private static readonly SecurityPolicy Small = SecurityPolicy.Default with { MaxHeaderBytes = HeaderBytes, MaxMimeParts = Parts };

    private static readonly string[] ContentTypes =
    [
        "multipart/mixed; boundary=b{0}", "multipart/mixed; boundary=\"b{0}\"", "multipart/mixed; boundary=\"\"", "multipart/digest; boundary=d{0}",
        "multipart/alternative; boundary*=''b{0}", "multipart/mixed; boundary=b{0} junk", "multipart/mixed", "message/rfc822", "message/global",
        "message/news", "message/external-body; access-type=x", "message/partial; id=1", "message/delivery-status", "message/rfc822 junk",
        "message/rfc822; (unclosed", "text/rfc822-headers", "text/plain", "application/octet-stream", "text/plain; charset=\"utf-8",
    ];

    private static readonly string[] Encodings = ["", "base64", "quoted-printable", "7bit", "8bit", "binary", "x-uuencode", "base64 junk", " Base64 "];

    [Fact]
    public void Whatever_the_scan_lets_through_stays_within_the_bounds_as_mimekit_reads_it()
    {
        var cases = Gen.Choose(0, int.MaxValue).Select(seed => Build(new Random(seed)));
        var config = Config.QuickThrowOnFailure.WithMaxTest(Count()).WithReplay(new Replay(new Rnd(20261203UL, 0x9E3779B97F4A7C15UL), null))
            .WithParallelRunConfig(null);
        Prop.ForAll(cases.ToArbitrary(), message =>
        {
            using var stream = new MemoryStream(message, writable: false);
            var scan = StructureScan.Run(stream, Small);
            if (scan.Problem is not null)
            {
                return true;
            }

            var seen = Oracle.Read(message);
            return seen.LargestField <= HeaderBytes + 2 && seen.LargestBlock <= HeaderBytes + 2 && seen.Entities <= Parts
                ? true
                : throw new InvalidOperationException(
                    $"the scan let through what MimeKit reads as field {seen.LargestField} B, block {seen.LargestBlock} B, {seen.Entities} entities:\n{Encoding.Latin1.GetString(message)[..Math.Min(message.Length, 3000)]}");
        }).Check(config);
    }

    private static int Count() => int.TryParse(Environment.GetEnvironmentVariable("RULEMAIL_FUZZ_CASES"), out var n) && n > 0 ? n : 1500;

    /// <summary>A random structure: nested entities with chosen Content-Type and encoding lines, tricks in the header blocks, and sometimes a large field or many parts.</summary>
    private static byte[] Build(Random random)
    {
        var text = new StringBuilder("From: a@example.org\r\nTo: b@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n");
        var counter = 0;
        Entity(text, random, depth: 0, ref counter, parentBoundary: null);
        return Encoding.Latin1.GetBytes(text.ToString());
    }

    private static void Entity(StringBuilder text, Random random, int depth, ref int counter, string? parentBoundary)
    {
        var id = counter++;
        var type = depth > 4 ? "text/plain" : string.Format(System.Globalization.CultureInfo.InvariantCulture, ContentTypes[random.Next(ContentTypes.Length)], id);
        Tricks(text, random);
        if (random.Next(4) > 0)
        {
            text.Append("Content-Type: ").Append(type).Append("\r\n");
        }

        if (random.Next(3) == 0)
        {
            text.Append("Content-Transfer-Encoding: ").Append(Encodings[random.Next(Encodings.Length)]).Append("\r\n");
        }

        if (random.Next(4) == 0)
        {
            text.Append("Content-Type: ").Append(ContentTypes[random.Next(ContentTypes.Length)].Replace("{0}", "z", StringComparison.Ordinal)).Append("\r\n");
        }

        Tricks(text, random);
        Big(text, random);
        text.Append("\r\n");

        if (type.StartsWith("multipart", StringComparison.Ordinal))
        {
            var boundary = type.Contains("boundary=\"\"", StringComparison.Ordinal) ? string.Empty
                : type.Contains("boundary", StringComparison.Ordinal) ? (type.Contains("digest", StringComparison.Ordinal) ? "d" : "b") + id : null;
            var children = random.Next(0, random.Next(3) == 0 ? 30 : 4);
            for (var i = 0; i < children; i++)
            {
                text.Append("--").Append(boundary ?? "b" + id).Append(random.Next(6) == 0 ? "  " : string.Empty).Append("\r\n");
                if (random.Next(8) == 0)
                {
                    text.Append("--").Append(boundary ?? "b" + id).Append("x\r\n"); // a look-alike
                }

                Entity(text, random, depth + 1, ref counter, boundary);
            }

            text.Append("--").Append(boundary ?? "b" + id).Append("--\r\n");
        }
        else if (type.StartsWith("message", StringComparison.Ordinal) || type.StartsWith("text/rfc822", StringComparison.Ordinal))
        {
            text.Append("From: inner@example.org\r\n");
            Entity(text, random, depth + 1, ref counter, parentBoundary);
        }
        else
        {
            text.Append("content ").Append(id).Append("\r\n");
            if (random.Next(5) == 0)
            {
                text.Append("--").Append(parentBoundary ?? "b").Append("junk\r\n");
            }
        }
    }

    private static void Tricks(StringBuilder text, Random random)
    {
        switch (random.Next(8))
        {
            case 0:
                text.Append(" Content-Type: text/plain\r\n");
                break;
            case 1:
                text.Append("not a header line\r\n");
                break;
            case 2:
                text.Append("Content-Type :message/rfc822\r\n");
                break;
            case 3:
                text.Append("   \r\n");
                break;
        }
    }

    private static void Big(StringBuilder text, Random random)
    {
        switch (random.Next(10))
        {
            case 0:
                text.Append("X-Big: ").Append('x', random.Next(3000, 9000)).Append("\r\n");
                break;
            case 1:
                text.Append("X-Folded: a");
                for (var i = random.Next(500, 2500); i > 0; i--)
                {
                    text.Append("\r\n b");
                }

                text.Append("\r\n");
                break;
            case 2:
                for (var i = random.Next(100, 400); i > 0; i--)
                {
                    text.Append("X-Many: value\r\n");
                }

                break;
        }
    }

    /// <summary>What MimeKit meets while it reads a message: the largest header field and block, and how many entities.</summary>
    private sealed class Oracle(Stream stream) : MimeReader(IncomingSecurity.ParserOptions, stream, MimeFormat.Entity)
    {
        public long LargestField { get; private set; }

        public long LargestBlock { get; private set; }

        public int Entities { get; private set; }

        public static Oracle Read(byte[] message)
        {
            var reader = new Oracle(new MemoryStream(message, writable: false));
            reader.ReadMessage();
            return reader;
        }

        protected override void OnHeaderRead(Header header, int beginLineNumber, CancellationToken cancellationToken) =>
            LargestField = Math.Max(LargestField, header.RawField.Length + 1 + header.RawValue.Length);

        protected override void OnHeadersEnd(long headersBeginOffset, int headersBeginLineNumber, long headersEndOffset, int headersEndLineNumber, CancellationToken cancellationToken) =>
            LargestBlock = Math.Max(LargestBlock, headersEndOffset - headersBeginOffset);

        protected override void OnMimePartBegin(ContentType contentType, long beginOffset, int beginLineNumber, CancellationToken cancellationToken) => Entities++;

        protected override void OnMultipartBegin(ContentType contentType, long beginOffset, int beginLineNumber, CancellationToken cancellationToken) => Entities++;

        protected override void OnMessagePartBegin(ContentType contentType, long beginOffset, int beginLineNumber, CancellationToken cancellationToken) => Entities++;
    }
}
