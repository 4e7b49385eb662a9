using System.Diagnostics;
using System.Globalization;
using System.Text;
using MimeKit;
using RuleMail.Crypto;
using RuleMail.Keys;

namespace RuleMail.Benchmarks;

/// <summary>
/// OpenPGP RSA side by side with its peers in one run (<c>pgp-peers</c>): gpg makes RSA-2048 and RSA-3072 keys
/// (passphrase-less, in a temp GNUPGHOME) and PGP/MIME messages signed by a customer and encrypted to the desk; then
/// (a) RuleMail's <see cref="IncomingSecurity.Inspect(Stream, string?)"/> per message, (b) <c>gpg --decrypt</c> per message
/// with its agent started and warm, (c) RuleMail's sign+encrypt of an outgoing message beside <c>gpg --sign --encrypt</c>
/// per message, and (d) <c>openssl speed</c>'s private and public RSA rates, the ceiling for a message that needs one of
/// each. One thread each; the machine may be shared, so compare the ratios of one run, not absolute figures across runs.
/// </summary>
internal static class PgpPeersBenchmark
{
    public const string Verb = "pgp-peers";

    private const string Body = "Content-Type: text/plain; charset=utf-8\r\n\r\nHello, this is a short support request about my order 4711.\r\n";

    public static int Run(string[] args)
    {
        var messages = args is ["--messages", var count, ..] ? int.Parse(count, CultureInfo.InvariantCulture) : 40;
        var work = Path.Combine(Path.GetTempPath(), $"rulemail-pgp-peers-{Guid.NewGuid():N}");
        var gnupg = Path.Combine(work, "gnupg");
        Directory.CreateDirectory(gnupg);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(gnupg, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var environment = new Dictionary<string, string> { ["GNUPGHOME"] = gnupg };
        string Gpg(params string[] arguments) =>
            Tools.Run("gpg", work, environment, ["--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "", "--trust-model", "always", .. arguments]);
        try
        {
            Console.WriteLine($"pgp-peers: {messages} messages per key size; gpg {Gpg("--version").Split('\n')[0]}; {Tools.Run("openssl", work, null, "version").Trim()}");
            var speed = OpenSslSpeed(work);
            var rows = new List<string>();
            foreach (var bits in new[] { 2048, 3072 })
            {
                rows.AddRange(Measure($"RSA-{bits}", $"rsa{bits}", $"rsa{bits}", messages, work, Gpg, speed[bits]));
            }

            // The same messages with no RSA at all: what parsing, MIME and the rest of a message cost beside the RSA operations.
            rows.AddRange(Measure("Ed25519/Cv25519", "ed25519", "cv25519", messages, work, Gpg, null));

            Console.WriteLine();
            foreach (var row in rows)
            {
                Console.WriteLine(row);
            }

            return 0;
        }
        finally
        {
            try
            {
                Tools.Run("gpgconf", work, environment, "--kill", "all");
            }
            catch (InvalidOperationException)
            {
                // The agent may not have started; the folder goes either way.
            }

            Directory.Delete(work, recursive: true);
        }
    }

    private static IEnumerable<string> Measure(
        string label, string primary, string subkey, int count, string work, Func<string[], string> gpg, (double Private, double Public)? speed)
    {
        string NewKey(string name)
        {
            var userId = $"{name} <{name.ToLowerInvariant()}@bench.test>";
            gpg(["--quick-gen-key", userId, primary, "sign,cert", "1y"]);
            var fingerprint = gpg(["--with-colons", "--list-keys", userId]).Split('\n').First(l => l.StartsWith("fpr:", StringComparison.Ordinal)).Split(':')[9];
            gpg(["--quick-add-key", fingerprint, subkey, "encr", "1y"]);
            return $"{name.ToLowerInvariant()}@bench.test";
        }

        var desk = NewKey($"Desk-{primary}");
        var customer = NewKey($"Customer-{primary}");
        var folder = Path.Combine(work, primary);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "desk.sec.asc"), gpg(["--armor", "--export-secret-keys", desk]));
        File.WriteAllText(Path.Combine(folder, "customer.pub.asc"), gpg(["--armor", "--export", customer]));
        File.WriteAllText(Path.Combine(folder, "customer.sec.asc"), gpg(["--armor", "--export-secret-keys", customer]));
        File.WriteAllText(Path.Combine(folder, "desk.pub.asc"), gpg(["--armor", "--export", desk]));

        // The messages, each its own (gpg's session keys and signatures differ), as files for gpg and as bytes for RuleMail.
        var files = new List<string>();
        var raw = new List<byte[]>();
        for (var i = 0; i < count; i++)
        {
            var body = Path.Combine(folder, $"body{i}.txt");
            File.WriteAllText(body, Body + $"Message {i}.\r\n");
            var armored = gpg(["--armor", "--sign", "--encrypt", "-u", customer, "-r", desk, "-o", "-", body]);
            var file = Path.Combine(folder, $"message{i}.asc");
            File.WriteAllText(file, armored);
            files.Add(file);
            raw.Add(Encoding.UTF8.GetBytes(
                $"From: {customer}\r\nTo: {desk}\r\nSubject: Order 4711\r\nMessage-ID: <bench{i}@bench.test>\r\nMIME-Version: 1.0\r\n" +
                "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b\"\r\n\r\n" +
                "--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n" +
                armored + "\r\n--b--\r\n"));
        }

        var options = new KeyStoreOptions { Passphrase = new KeyStorePassphrase("benchmark"), Pkcs8Iterations = 1000 };
        var receiving = KeyStore.OpenOrCreate(Path.Combine(folder, "receiving"), options);
        receiving.Import([ImportFile.Read(Path.Combine(folder, "desk.sec.asc")), ImportFile.Read(Path.Combine(folder, "customer.pub.asc"))]);
        var sending = KeyStore.OpenOrCreate(Path.Combine(folder, "sending"), options);
        sending.Import([ImportFile.Read(Path.Combine(folder, "customer.sec.asc")), ImportFile.Read(Path.Combine(folder, "desk.pub.asc"))]);

        // (a) RuleMail incoming: every message must decrypt and verify; then warm-up and passes for at least 3 s (PerSecond).
        var incoming = new IncomingSecurity(receiving);
        foreach (var message in raw)
        {
            var security = incoming.Inspect(new MemoryStream(message, writable: false), desk).Security;
            if (security.Encryption?.Success != true || security.Sign?.Success != true)
            {
                throw new InvalidOperationException($"RuleMail did not decrypt and verify an {label} message: {security.Encryption?.Comment} / {security.Sign?.Comment}");
            }
        }

        var (ruleMailIn, ruleMailInCpu) = PerSecond(() =>
        {
            foreach (var message in raw)
            {
                _ = incoming.Inspect(new MemoryStream(message, writable: false), desk);
            }
        }, raw.Count);

        // (b) gpg --decrypt per message, the agent started and warm (one decryption first).
        gpg(["--with-colons", "--list-secret-keys"]);
        gpg(["--decrypt", "-o", "/dev/null", files[0]]);
        var gpgIn = PerSecondOnce(() =>
        {
            foreach (var file in files)
            {
                gpg(["--decrypt", "-o", "/dev/null", file]);
            }
        }, files.Count);

        // (c) Outgoing sign+encrypt: RuleMail per message (the MIME message built each time) and gpg per message.
        var outgoing = new OutgoingSecurity(sending);
        MimeMessage Outgoing(int i)
        {
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse(customer));
            message.To.Add(MailboxAddress.Parse(desk));
            message.Subject = "Order 4711";
            message.Body = new TextPart("plain") { Text = $"Hello, this is a short support request about my order 4711.\r\nMessage {i}.\r\n" };
            return message;
        }

        var request = OutgoingRequest.Pgp(sign: true, encrypt: true);
        var first = outgoing.Protect(Outgoing(0), request);
        if (first.IsRefused)
        {
            throw new InvalidOperationException($"RuleMail refused to sign and encrypt: {first.Refusal}");
        }

        var sent = Path.Combine(folder, "sent.asc");
        using (var stream = File.Create(sent))
        {
            var payload = first.Message?.Body is Multipart { Count: 2 } encrypted && encrypted[1] is MimePart { Content: { } content }
                ? content
                : throw new InvalidOperationException("RuleMail's sign+encrypt is not a PGP/MIME multipart/encrypted");
            payload.DecodeTo(stream);
        }

        gpg(["--decrypt", "-o", "/dev/null", sent]); // gpg must read what RuleMail sends
        var (ruleMailOut, ruleMailOutCpu) = PerSecond(() =>
        {
            for (var i = 0; i < count; i++)
            {
                _ = outgoing.Protect(Outgoing(i), request);
            }
        }, count);
        var gpgOut = PerSecondOnce(() =>
        {
            for (var i = 0; i < count; i++)
            {
                gpg(["--armor", "--sign", "--encrypt", "-u", customer, "-r", desk, "-o", "/dev/null", Path.Combine(folder, $"body{i}.txt")]);
            }
        }, count);

        // (d) One private and one public RSA operation per message, at openssl speed's rates.
        var invariant = CultureInfo.InvariantCulture;
        var ceiling = speed is { } rates ? 1 / ((1 / rates.Private) + (1 / rates.Public)) : (double?)null;
        // openssl speed divides by CPU time, so the share compares RuleMail's messages per CPU-second with it.
        string Share(double perCpuSecond) => ceiling is { } c ? string.Create(invariant, $" | RuleMail/openssl ceiling {perCpuSecond / c,5:P0}") : string.Empty;
        yield return speed is { } known
            ? string.Create(invariant, $"{label}: openssl speed {known.Private:F0} private + {known.Public:F0} public ops/s => {ceiling:F0} messages/s ceiling (one of each)")
            : $"{label}: no RSA (BouncyCastle's X25519 and Ed25519, as before)";
        yield return string.Create(invariant,
            $"  incoming  RuleMail {ruleMailIn,8:F1} msg/s ({ruleMailInCpu,6:F1}/CPU-s) | gpg --decrypt loop {gpgIn,6:F1} msg/s | RuleMail/gpg {ruleMailIn / gpgIn,5:F1}x{Share(ruleMailInCpu)}");
        yield return string.Create(invariant,
            $"  outgoing  RuleMail {ruleMailOut,8:F1} msg/s ({ruleMailOutCpu,6:F1}/CPU-s) | gpg --sign --encrypt  {gpgOut,6:F1} msg/s | RuleMail/gpg {ruleMailOut / gpgOut,5:F1}x{Share(ruleMailOutCpu)}");
    }

    /// <summary>
    /// Messages per second (wall clock) and per CPU-second of this process (JIT and GC threads included) of
    /// <paramref name="pass"/> (one pass handles <paramref name="perPass"/>), over at least 3 s, after a warm-up of at least
    /// 10 s and 10 passes: tiered compilation and dynamic PGO need thousands of calls, and on two busy cores their background
    /// compiles lag. With one warm-up pass the measured code was still partly tier-0: in a stopwatch replay of RSA-3072
    /// incoming, the 5 s after 200 warm-up messages still compiled over 800 methods (3.4 s of JIT time) and ran at 150
    /// messages/CPU-s, against 280/CPU-s after 10 s of warm-up (16 methods compiled in the next 10 s).
    /// </summary>
    private static (double PerSecond, double PerCpuSecond) PerSecond(Action pass, int perPass)
    {
        var warmUp = Stopwatch.StartNew();
        for (var passes = 0; warmUp.Elapsed < TimeSpan.FromSeconds(10) || passes < 10; passes++)
        {
            pass();
        }

        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpu = process.TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        var measured = 0;
        while (watch.Elapsed < TimeSpan.FromSeconds(3))
        {
            pass();
            measured++;
        }

        var elapsed = watch.Elapsed.TotalSeconds;
        process.Refresh();
        return (measured * perPass / elapsed, measured * perPass / (process.TotalProcessorTime - cpu).TotalSeconds);
    }

    private static double PerSecondOnce(Action pass, int perPass)
    {
        var watch = Stopwatch.StartNew();
        pass();
        return perPass / watch.Elapsed.TotalSeconds;
    }

    /// <summary><c>openssl speed -mr rsa2048 rsa3072</c>: private (sign) and public (verify) operations per second, one core.</summary>
    private static Dictionary<int, (double Private, double Public)> OpenSslSpeed(string work)
    {
        var output = Tools.Run("openssl", work, null, "speed", "-seconds", "3", "-mr", "rsa2048", "rsa3072");
        var rates = new Dictionary<int, (double, double)>();
        foreach (var line in output.Split('\n').Where(l => l.StartsWith("+F2:", StringComparison.Ordinal)))
        {
            var fields = line.Split(':');
            rates[int.Parse(fields[2], CultureInfo.InvariantCulture)] =
                (double.Parse(fields[3], CultureInfo.InvariantCulture), double.Parse(fields[4], CultureInfo.InvariantCulture));
        }

        return rates;
    }
}
