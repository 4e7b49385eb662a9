using System.Text;
using FsCheck;
using FsCheck.Fluent;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// A property-based fuzz target over the demo mailbox (every status the seed shows, made by openssl and gpg): each
/// case is a demo message with a few random mutations — bytes changed, inserted or deleted, lines repeated, long
/// header lines, truncation. For every one, no exception escapes <see cref="IncomingSecurity"/> and the memory it
/// allocates stays linear in its size (64 MB plus 32 times the message); and a signed demo message whose signed region had a byte changed never verifies.
/// </summary>
/// <remarks>
/// The suite runs <see cref="DefaultCases"/> cases from a fixed seed, so it is repeatable; set
/// <c>RULEMAIL_FUZZ_CASES</c> (say 100000) and optionally <c>RULEMAIL_FUZZ_SEED</c> for a longer or different run.
/// A failure prints the seed that replays it.
/// </remarks>
public sealed class MutationFuzzTests
{
    private const int DefaultCases = 300;
    private const long Megabyte = 1024 * 1024;
    private static readonly string Root = FindRoot();
    private readonly IncomingSecurity _security;
    private readonly (string Name, byte[] Bytes)[] _seeds;

    public MutationFuzzTests()
    {
        var sample = Path.Combine(Root, "keystore-sample");
        var passphrase = KeyStorePassphrase.FromFile(Path.Combine(sample, "passphrase.txt"));
        var store = KeyStore.Open(sample, new KeyStoreOptions { Passphrase = passphrase, Time = new FixedTime(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero)) });
        _security = new IncomingSecurity(store);
        _seeds = [.. Directory.GetFiles(Path.Combine(Root, "keystore-sample", "mailbox", "new")).Order(StringComparer.Ordinal)
            .Select(f => (Path.GetFileName(f), File.ReadAllBytes(f)))];
        Assert.True(_seeds.Length >= 10, "the demo mailbox is missing");
    }

    [Fact]
    public void No_mutated_demo_message_throws_or_costs_without_bound()
    {
        var cases = from seed in Gen.Choose(0, _seeds.Length - 1)
                    from mutations in Gen.ListOf(Mutation(), 1).Select(l => l.Take(4).ToArray()).SelectMany(first => Gen.ListOf(Mutation()).Select(more => first.Concat(more).Take(6).ToArray()))
                    select (Seed: seed, Mutations: mutations);
        Check(cases.ToArbitrary(), c =>
        {
            var message = Apply(_seeds[c.Seed].Bytes, c.Mutations);
            var before = GC.GetAllocatedBytesForCurrentThread();
            IncomingReport report;
            try
            {
                report = _security.Inspect(new MemoryStream(message, writable: false), "support@rulemail.test");
            }
            catch (Exception e)
            {
                throw new InvalidOperationException($"{_seeds[c.Seed].Name} with {string.Join(", ", c.Mutations.AsEnumerable())}: {e}", e);
            }

            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            return allocated < 64 * Megabyte + (32L * message.Length)
                ? report.Security is not null && report.Message is not null
                : throw new InvalidOperationException($"{_seeds[c.Seed].Name} with {string.Join(", ", c.Mutations.AsEnumerable())}: {allocated / Megabyte} MB allocated for {message.Length} bytes");
        });
    }

    [Theory]
    [InlineData("demo-smime-signed")]
    [InlineData("demo-pgp-clearsigned")]
    public void A_changed_byte_in_the_signed_region_never_verifies(string demo)
    {
        var original = _seeds.Single(s => s.Name.EndsWith(demo, StringComparison.Ordinal)).Bytes;
        Assert.True(_security.Inspect(new MemoryStream(original), "support@rulemail.test").Security.Sign?.Success, $"{demo} does not verify as it is");
        var (start, end) = SignedRegion(original, demo);
        var cases = from at in Gen.Choose(start, end - 1)
                    from replacement in Gen.Elements("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=-_.:;<>()!?".Select(c => (byte)c).ToArray())
                    where original[at] is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') && original[at] != replacement
                    select (At: at, Replacement: replacement);
        Check(cases.ToArbitrary(), c =>
        {
            var changed = original.ToArray();
            changed[c.At] = c.Replacement;
            var sign = _security.Inspect(new MemoryStream(changed), "support@rulemail.test").Security.Sign;
            return sign?.Success != true;
        });
    }

    private static void Check<T>(Arbitrary<T> arbitrary, Func<T, bool> property)
    {
        var cases = int.TryParse(Environment.GetEnvironmentVariable("RULEMAIL_FUZZ_CASES"), out var n) && n > 0 ? n : DefaultCases;
        var seed = ulong.TryParse(Environment.GetEnvironmentVariable("RULEMAIL_FUZZ_SEED"), out var s) ? s : 20261203UL;
        var config = Config.QuickThrowOnFailure.WithMaxTest(cases).WithReplay(Replay(seed)).WithParallelRunConfig(null);
        Prop.ForAll(arbitrary, property).Check(config);
    }

    private static Replay Replay(ulong seed) => new(new Rnd(seed, 0x9E3779B97F4A7C15UL), null);

    /// <summary>One change to a message: where (a fraction of its length), what, and how much.</summary>
    private sealed record Change(int Kind, double Where, int Length, byte Value);

    private static Gen<Change> Mutation() =>
        from kind in Gen.Choose(0, 6)
        from place in Gen.Choose(0, 1_000_000).Select(i => i / 1_000_000.0)
        from length in Gen.Choose(1, 64)
        from value in Gen.Choose(0, 255).Select(v => (byte)v)
        select new Change(kind, place, length, value);

    private static byte[] Apply(byte[] original, IEnumerable<Change> changes)
    {
        var bytes = new List<byte>(original);
        foreach (var change in changes)
        {
            if (bytes.Count == 0)
            {
                break;
            }

            var at = Math.Min(bytes.Count - 1, (int)(change.Where * bytes.Count));
            switch (change.Kind)
            {
                case 0: // change bytes
                    for (var i = at; i < Math.Min(bytes.Count, at + (change.Length / 8) + 1); i++)
                    {
                        bytes[i] = (byte)(bytes[i] ^ (change.Value | 1));
                    }

                    break;
                case 1: // insert bytes
                    bytes.InsertRange(at, Enumerable.Repeat(change.Value, change.Length));
                    break;
                case 2: // delete bytes
                    bytes.RemoveRange(at, Math.Min(change.Length, bytes.Count - at));
                    break;
                case 3: // repeat the line at this place
                    var lineStart = bytes.LastIndexOf((byte)'\n', at) + 1;
                    var lineEnd = bytes.IndexOf((byte)'\n', at);
                    if (lineEnd > lineStart)
                    {
                        var line = bytes.GetRange(lineStart, lineEnd - lineStart + 1);
                        for (var i = 0; i < change.Length; i++)
                        {
                            bytes.InsertRange(lineStart, line);
                        }
                    }

                    break;
                case 4: // a long header-like line
                    bytes.InsertRange(bytes.LastIndexOf((byte)'\n', at) + 1, Encoding.ASCII.GetBytes("X-Fuzz: " + new string((char)('a' + (change.Value % 26)), change.Length * 4096) + "\r\n"));
                    break;
                case 5: // truncate
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                default: // a boundary-like or armor-like line
                    var text = (change.Value % 3) switch
                    {
                        0 => "--\r\n",
                        1 => "-----BEGIN PGP SIGNATURE-----\r\n",
                        _ => "Content-Type: multipart/mixed; boundary=x\r\n",
                    };
                    bytes.InsertRange(bytes.LastIndexOf((byte)'\n', at) + 1, Encoding.ASCII.GetBytes(text));
                    break;
            }
        }

        return [.. bytes];
    }

    /// <summary>The bytes the signature covers: the first part of the multipart/signed, or the text of the cleartext-signed block.</summary>
    private static (int Start, int End) SignedRegion(byte[] message, string demo)
    {
        var text = Encoding.Latin1.GetString(message);
        if (demo.Contains("clearsigned", StringComparison.Ordinal))
        {
            var armor = text.IndexOf("-----BEGIN PGP SIGNED MESSAGE-----", StringComparison.Ordinal);
            var start = text.IndexOf("\n\n", armor, StringComparison.Ordinal) is var lf and >= 0 ? lf + 2 : text.IndexOf("\r\n\r\n", armor, StringComparison.Ordinal) + 4;
            return (start, text.IndexOf("-----BEGIN PGP SIGNATURE-----", start, StringComparison.Ordinal) - 1);
        }

        var boundary = IncomingMail.Load(message).Body!.ContentType.Boundary;
        var first = text.IndexOf("--" + boundary, StringComparison.Ordinal);
        var partStart = text.IndexOf('\n', first) + 1;
        var second = text.IndexOf("\n--" + boundary, partStart, StringComparison.Ordinal);
        return (partStart, second - 1);
    }

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "RuleMail.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("RuleMail.sln not found above the test binaries");
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
