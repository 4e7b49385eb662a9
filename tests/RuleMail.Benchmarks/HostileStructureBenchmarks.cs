using System.Text;
using BenchmarkDotNet.Attributes;
using MimeKit;
using RuleMail.Application;
using RuleMail.Crypto;
using RuleMail.Rules;
using RuleMail.Keys;

namespace RuleMail.Benchmarks;

/// <summary>
/// Hostile structure, side by side: MimeKit parsing the message (what RuleMail did before it bounded structure, and
/// what any MimeKit-based peer does) against RuleMail's <c>IncomingSecurity.Inspect(Stream)</c>, which counts the
/// structure in one pass and judges the message damaged without parsing it. Sizes are kept small enough for MimeKit
/// to finish within a benchmark; its cost grows faster than the input, RuleMail's linearly.
/// </summary>
[MemoryDiagnoser]
public class HostileStructureBenchmarks
{
    private readonly IncomingAnalysis _incoming = new(
        KeyStore.OpenOrCreate(Path.Combine(Path.GetTempPath(), "rulemail-bench-empty-store")), new RuleSetSource(RuleSet.Load(BenchmarkMail.ShippedRules)));
    private byte[] _message = [];

    [Params("4 MB header line", "40,000 folded lines", "20,000 RFC 2231 continuations", "100,000 parts")]
    public string Shape { get; set; } = "";

    [GlobalSetup]
    public void Setup() => _message = Make(Shape);

    [Benchmark(Baseline = true, Description = "MimeKit MimeMessage.Load (peer)")]
    public int MimeKitParse()
    {
        var message = MimeMessage.Load(new MemoryStream(_message, writable: false));
        return message.Headers.Count + message.BodyParts.Count();
    }

    [Benchmark(Description = "RuleMail Inspect(Stream)")]
    public SecurityResult RuleMail() => _incoming.Analyse(new MemoryStream(_message, writable: false), null).Security;

    private static byte[] Make(string shape)
    {
        var text = new StringBuilder("From: a@example.org\r\nTo: b@example.org\r\nSubject: hostile\r\nMIME-Version: 1.0\r\n");
        switch (shape)
        {
            case "4 MB header line":
                text.Append("X-Long: ").Append('x', 4 * 1024 * 1024).Append("\r\n\r\nbody\r\n");
                break;
            case "40,000 folded lines":
                text.Append("X-Folded: a");
                for (var i = 0; i < 40_000; i++)
                {
                    text.Append("\r\n b");
                }

                text.Append("\r\n\r\nbody\r\n");
                break;
            case "20,000 RFC 2231 continuations":
                text.Append("Content-Type: text/plain");
                for (var i = 0; i < 20_000; i++)
                {
                    text.Append(";\r\n name*").Append(i).Append("=\"abcdefghijkl\"");
                }

                text.Append("\r\n\r\nbody\r\n");
                break;
            default:
                text.Append("Content-Type: multipart/mixed; boundary=b\r\n\r\n");
                for (var i = 0; i < 100_000; i++)
                {
                    text.Append("--b\r\n\r\nx\r\n");
                }

                text.Append("--b--\r\n");
                break;
        }

        return Encoding.ASCII.GetBytes(text.ToString());
    }
}
