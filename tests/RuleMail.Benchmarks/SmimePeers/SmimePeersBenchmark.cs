using System.Diagnostics;
using System.Globalization;
using System.Text;
using MimeKit;
using RuleMail.Crypto;
using RuleMail.Keys;

namespace RuleMail.Benchmarks.SmimePeers;

/// <summary>
/// S/MIME beside its peer (<c>smime-peers</c>): the same messages, made by real openssl (RSA-2048, AES-256-CBC, SHA-256),
/// judged by RuleMail in-process (<see cref="IncomingSecurity.Inspect(Stream, string?)"/>, and
/// <see cref="OutgoingSecurity.Protect"/> for sign+encrypt) and by Ruby's OpenSSL bindings doing what Zammad does
/// (<c>smime_peer.rb</c>), each on one thread, measured in CPU time of its own process. Rounds alternate the two so a
/// shared machine's drift moves both; the median round is printed, with <c>openssl speed rsa2048</c> of the same run.
/// </summary>
internal static class SmimePeersBenchmark
{
    public const string Verb = "smime-peers";
    private const string Passphrase = "benchmark";

    private static readonly string[] AllKinds = ["signed", "encrypted", "signed-encrypted", "outgoing"];
    private static readonly string[] StoreFiles = ["ca.crt", "desk.crt", "desk.key", "customer.crt"];

    public static int Run(string[] args)
    {
        var seconds = 3.0;
        var rounds = 3;
        string[] kinds = AllKinds;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--seconds" when i + 1 < args.Length:
                    seconds = double.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--rounds" when i + 1 < args.Length:
                    rounds = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--only" when i + 1 < args.Length && AllKinds.Contains(args[i + 1]):
                    kinds = [args[++i]];
                    break;
                default:
                    Console.Error.WriteLine($"usage: {Verb} [--seconds S (3): CPU seconds per kind and side] [--rounds R (3)] [--only signed|encrypted|signed-encrypted|outgoing]");
                    return 2;
            }
        }

        var work = Path.Combine(Path.GetTempPath(), $"rulemail-smime-peers-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        try
        {
            return Measure(work, seconds, rounds, kinds);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static int Measure(string work, double seconds, int rounds, string[] kinds)
    {
        var messages = MakeMessages(work);
        var store = KeyStore.OpenOrCreate(Path.Combine(work, "store"), new KeyStoreOptions { Passphrase = new KeyStorePassphrase(Passphrase), Pkcs8Iterations = 1000 });
        store.Import([.. StoreFiles.Select(f => ImportFile.Read(Path.Combine(work, f)))]);
        var incoming = new IncomingSecurity(store);
        var outgoing = new OutgoingSecurity(store);
        var plain = File.ReadAllBytes(Path.Combine(work, "plain.eml"));
        var request = OutgoingRequest.Smime(sign: true, encrypt: true);

        var ruleMail = new Dictionary<string, Action>
        {
            ["signed"] = () => Incoming(incoming, messages["signed"], expectSigned: true, expectEncrypted: false),
            ["encrypted"] = () => Incoming(incoming, messages["encrypted"], expectSigned: false, expectEncrypted: true),
            ["signed-encrypted"] = () => Incoming(incoming, messages["signed-encrypted"], expectSigned: true, expectEncrypted: true),
            ["outgoing"] = () => Outgoing(outgoing, plain, request),
        };

        Console.WriteLine($"S/MIME beside Ruby {Tools.Run("ruby", work, null, "-ropenssl", "-e", "print RUBY_VERSION, ' ', OpenSSL::OPENSSL_LIBRARY_VERSION")}, " +
            $"{rounds} rounds of {seconds} CPU seconds per kind and side; machine: {Environment.ProcessorCount} CPUs (shared: absolute rates are noisy, ratios of one round less so)");
        var script = Path.Combine(AppContext.BaseDirectory, "SmimePeers", "smime_peer.rb");
        var ours = kinds.ToDictionary(k => k, _ => new List<double>());
        var peer = kinds.ToDictionary(k => k, _ => new List<double>());
        var ratios = kinds.ToDictionary(k => k, _ => new List<double>());
        var rsa = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            foreach (var kind in kinds)
            {
                ours[kind].Add(PerCpuSecond(ruleMail[kind], seconds));
            }

            var output = Tools.Run("ruby", work, null, script, work, seconds.ToString(CultureInfo.InvariantCulture), string.Join(',', kinds));
            foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var fields = line.Split(' ');
                if (!kinds.Contains(fields[0]))
                {
                    continue;
                }

                peer[fields[0]].Add(double.Parse(fields[1], CultureInfo.InvariantCulture) / double.Parse(fields[2], CultureInfo.InvariantCulture));
            }

            foreach (var kind in kinds)
            {
                ratios[kind].Add(ours[kind][^1] / peer[kind][^1]);
            }

            rsa.Add(OpenSslRsa2048());
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {round + 1}: {string.Join(", ", kinds.Select(k => $"{k} {ours[k][^1]:F0}/{peer[k][^1]:F0}"))} (RuleMail/Ruby messages per CPU-second); openssl rsa2048 {rsa[^1]:F0}/s"));
        }

        var raw = Median(rsa);
        Console.WriteLine();
        Console.WriteLine("| message (RSA-2048) | RuleMail messages/CPU-s | Ruby OpenSSL (Zammad's calls) | RuleMail ÷ Ruby (median of rounds, range) | share of `openssl speed rsa2048` |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var kind in kinds)
        {
            var share = kind == "signed" ? "(no private-key operation)" : string.Create(CultureInfo.InvariantCulture, $"{Median(ours[kind]) / raw:P0}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {Label(kind)} | {Median(ours[kind]):F0} | {Median(peer[kind]):F0} | {Median(ratios[kind]):F2}x ({ratios[kind].Min():F2}-{ratios[kind].Max():F2}) | {share} |"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"openssl speed -seconds 3 rsa2048: {raw:F0} private-key operations/s (median of the rounds)"));
        return 0;
    }

    private static string Label(string kind) => kind switch
    {
        "signed" => "incoming signed (detached)",
        "encrypted" => "incoming encrypted",
        "signed-encrypted" => "incoming signed, then encrypted",
        _ => "outgoing sign + encrypt (2 recipients)",
    };

    private static void Incoming(IncomingSecurity incoming, byte[] message, bool expectSigned, bool expectEncrypted)
    {
        using var stream = new MemoryStream(message, writable: false);
        var security = incoming.Inspect(stream, "desk@bench.test").Security;
        if ((security.Sign?.Success == true) != expectSigned || (security.Encryption?.Success == true) != expectEncrypted)
        {
            throw new InvalidOperationException($"the benchmark message was not judged as expected: sign {security.Sign?.Comment}; encryption {security.Encryption?.Comment}");
        }
    }

    private static void Outgoing(OutgoingSecurity outgoing, byte[] plain, OutgoingRequest request)
    {
        using var input = new MemoryStream(plain, writable: false);
        var result = outgoing.Protect(MimeMessage.Load(input), request);
        if (result.Message is null)
        {
            throw new InvalidOperationException($"the benchmark message was refused: {result.Refusal}");
        }

        using var output = new MemoryStream();
        result.Message.WriteTo(output);
    }

    /// <summary>
    /// Calls per CPU-second of this process (JIT and GC threads included), after a warm-up long enough for tiered compilation:
    /// at least 5 s and 3,000 calls. With 1 s of warm-up on two busy cores, the measured code was still partly tier-0 and ran at
    /// a third of its rate.
    /// </summary>
    private static double PerCpuSecond(Action work, double seconds)
    {
        var warmUp = Stopwatch.StartNew();
        for (var calls = 0; warmUp.Elapsed.TotalSeconds < 5 || calls < 3_000; calls++)
        {
            work();
        }

        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var start = process.TotalProcessorTime;
        var count = 0;
        double used;
        do
        {
            for (var i = 0; i < 50; i++)
            {
                work();
            }

            count += 50;
            process.Refresh();
            used = (process.TotalProcessorTime - start).TotalSeconds;
        }
        while (used < seconds);

        return count / used;
    }

    private static Dictionary<string, byte[]> MakeMessages(string work)
    {
        void OpenSsl(params string[] arguments) => Tools.Run("openssl", work, null, arguments);
        OpenSsl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "30",
            "-subj", "/CN=Bench CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        foreach (var (name, address) in new[] { ("desk", "desk@bench.test"), ("customer", "customer@bench.test") })
        {
            OpenSsl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", $"{name}.key", "-out", $"{name}.csr", "-subj", $"/CN={address}");
            File.WriteAllText(Path.Combine(work, $"{name}.ext"), $"subjectAltName=email:{address}\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\n");
            OpenSsl("x509", "-req", "-in", $"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "30",
                "-extfile", $"{name}.ext", "-out", $"{name}.crt");
        }

        const string Body = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHello, this is a short support request about my order 4711.\r\n";
        File.WriteAllText(Path.Combine(work, "plain.txt"), Body);
        File.WriteAllText(Path.Combine(work, "plain.eml"), $"From: desk@bench.test\r\nTo: customer@bench.test\r\nSubject: Order 4711\r\nMessage-ID: <reply@bench.test>\r\nMIME-Version: 1.0\r\n{Body}");
        OpenSsl("smime", "-sign", "-in", "plain.txt", "-signer", "customer.crt", "-inkey", "customer.key", "-out", "signed.txt");
        OpenSsl("smime", "-encrypt", "-aes256", "-in", "signed.txt", "-out", "signed-encrypted.txt", "desk.crt");
        OpenSsl("smime", "-encrypt", "-aes256", "-in", "plain.txt", "-out", "encrypted.txt", "desk.crt");
        var messages = new Dictionary<string, byte[]>();
        foreach (var kind in new[] { "signed", "encrypted", "signed-encrypted" })
        {
            var mail = Encoding.UTF8.GetBytes("From: customer@bench.test\r\nTo: desk@bench.test\r\nSubject: Order 4711\r\nMessage-ID: <bench@bench.test>\r\n" +
                File.ReadAllText(Path.Combine(work, $"{kind}.txt")));
            File.WriteAllBytes(Path.Combine(work, $"{kind}.eml"), mail);
            messages[kind] = mail;
        }

        return messages;
    }

    private static double OpenSslRsa2048()
    {
        var output = Tools.Run("openssl", Directory.GetCurrentDirectory(), null, "speed", "-seconds", "3", "-mr", "rsa2048");
        var line = output.Split('\n').First(l => l.StartsWith("+F2:", StringComparison.Ordinal));
        return double.Parse(line.Split(':')[3], CultureInfo.InvariantCulture);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
