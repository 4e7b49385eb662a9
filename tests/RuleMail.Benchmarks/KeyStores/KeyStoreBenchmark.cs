using System.Diagnostics;
using System.Globalization;
using RuleMail.Benchmarks.Http;
using RuleMail.Core.Tests.Support;
using RuleMail.Host.Tests.Support;
using RuleMail.Keys;

namespace RuleMail.Benchmarks.KeyStores;

/// <summary>
/// <c>keystore [--entries N] [--pgp N] [--runs N] [--small N] [--baseline RULEMAIL.DLL] [--rulemail RULEMAIL.DLL] [--keep DIR]</c>: builds a key
/// store of the sample store plus N generated entries (<see cref="KeyStoreMaterial"/>), then times whole
/// <c>dotnet rulemail.dll</c> processes — <c>check</c> of the demo mailbox's S/MIME and PGP messages, <c>options</c>,
/// <c>keys list --json</c> — first with nothing cached (every file derived), then cold (one file of the store changed
/// before each run), then warm; beside them <c>gpg --list-keys ADDRESS</c> over the same OpenPGP keys (the peer), and,
/// with <c>--baseline</c>, the same commands of another build. <c>--rulemail</c> times that <c>rulemail.dll</c> (a
/// published one, say) instead of the one built beside the benchmark. Last, the in-process per-message lookups
/// (<see cref="KeyStore.FindSmime(string, KeyUsages, bool)"/>, <see cref="KeyStore.FindPgp(string, KeyUsages, bool)"/>)
/// in a small store and the big one. Prints Markdown tables.
/// </summary>
internal static class KeyStoreBenchmark
{
    public const string Verb = "keystore";

    private const string From = "support@rulemail.test";
    private const string To = "alice@customer.test";

    public static int Run(string[] args)
    {
        var entries = Option(args, "--entries", 20_000);
        var pgp = Option(args, "--pgp", 300);
        var runs = Option(args, "--runs", 5);
        var small = Option(args, "--small", 100);
        var baseline = Text(args, "--baseline");
        var keep = Text(args, "--keep");
        var rulemail = Text(args, "--rulemail") is { } given ? Path.GetFullPath(given) : RuleMailProcess.Assembly;

        using var temp = new TempDirectory("keystore-bench");
        var root = keep ?? temp.Path;
        var big = Path.Combine(root, "big");
        var little = Path.Combine(root, "small");
        var sample = Path.Combine(HostHarness.RepositoryRoot, "keystore-sample");
        if (!Directory.Exists(Path.Combine(big, "smime")))
        {
            var watch = Stopwatch.StartNew();
            KeyStoreMaterial.CopyStore(sample, big);
            KeyStoreMaterial.CopyStore(sample, little);
            foreach (var store in new[] { big, little })
            {
                Directory.Delete(Path.Combine(store, "mailbox"), recursive: true);
                Directory.Delete(Path.Combine(store, "source"), recursive: true);
            }

            var certificates = entries - pgp;
            KeyStoreMaterial.WriteCertificates(big, certificates, small - 10, little);
            Console.WriteLine(Invariant($"{certificates} certificates written in {watch.Elapsed.TotalSeconds:F1} s"));
            watch.Restart();
            KeyStoreMaterial.WritePgpKeys(big, pgp, 10, little);
            Console.WriteLine(Invariant($"{pgp} OpenPGP RSA-3072 keys written in {watch.Elapsed.TotalSeconds:F1} s"));
        }

        var config = Path.Combine(root, "rulemail.yaml");
        File.WriteAllText(config, $"""
            keystore: {big}
            keystore_passphrase_file: {Path.Combine(sample, "passphrase.txt")}
            rules: {Path.Combine(HostHarness.RepositoryRoot, "rules")}
            """);
        var mailbox = Path.Combine(sample, "mailbox", "new");
        var smimeMessage = Directory.GetFiles(mailbox, "*demo-smime-signed-encrypted").Single();
        var pgpMessage = Directory.GetFiles(mailbox, "*demo-pgp-signed-encrypted").Single();
        var commands = new (string Name, string[] Arguments)[]
        {
            ("check S/MIME signed+encrypted", ["check", smimeMessage, "--json", "--config", config]),
            ("check PGP signed+encrypted", ["check", pgpMessage, "--json", "--config", config]),
            ("options --from --to", ["options", "--from", From, "--to", To, "--json", "--config", config]),
            ("keys list --json", ["keys", "list", "--json", "--config", config]),
        };

        var count = KeyStore.Open(big, new KeyStoreOptions { Passphrase = new KeyStorePassphrase(File.ReadAllLines(Path.Combine(sample, "passphrase.txt"))[0]) }).Entries.Count;
        foreach (var cache in Directory.GetFiles(big, ".rulemail-cache*"))
        {
            File.Delete(cache);
        }
        Console.WriteLine(Invariant($"key store {big}: {count} entries; rulemail {rulemail}"));
        Console.WriteLine();

        var first = Time(root, commands[3].Arguments, rulemail);
        Console.WriteLine(Invariant($"first command, nothing cached (every certificate parsed, every OpenPGP key verified): {first:F2} s CPU, {LastWall:F2} s wall"));
        Console.WriteLine(Invariant($"start-up alone (rulemail --help): {Time(root, ["--help"], rulemail):F3} s CPU"));
        var timer = Stopwatch.StartNew();
        var opened = KeyStore.Open(big);
        Console.WriteLine(Invariant($"in-process KeyStore.Open, cache present: {timer.Elapsed.TotalMilliseconds:F0} ms ({opened.Entries.Count} entries)"));
        Console.WriteLine();
        Console.WriteLine("CPU seconds (user + system) per whole process, start-up included; wall time of the warm runs beside:");
        Console.WriteLine();
        Console.WriteLine("| command | cold: one file changed before (median CPU s) | warm (median CPU s) | warm min-max (CPU s) | warm wall (median s) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var (name, arguments) in commands)
        {
            var cold = new List<double>();
            for (var run = 0; run < runs; run++)
            {
                ChangeOneFile(big, run);
                cold.Add(Time(root, arguments, rulemail));
            }

            _ = Time(root, arguments, rulemail);
            var walls = new List<double>();
            var warm = Enumerable.Range(0, runs).Select(_ =>
            {
                var cpu = Time(root, arguments, rulemail);
                walls.Add(LastWall);
                return cpu;
            }).Order().ToList();
            Console.WriteLine(Invariant($"| {name} | {Median(cold.Order().ToList()):F3} | {Median(warm):F3} | {warm[0]:F3}-{warm[^1]:F3} | {Median(walls.Order().ToList()):F3} |"));
        }

        Console.WriteLine();
        GpgPeer(root, big, pgp, runs);
        if (baseline is not null)
        {
            Baseline(root, baseline, rulemail, commands, Math.Min(runs, 2));
        }

        Lookups(little, big);
        return 0;
    }

    /// <summary>Rewrites one PGP key file of the store with other armor headers (same key, other bytes), as an edit would.</summary>
    private static void ChangeOneFile(string store, int run)
    {
        var file = Directory.GetFiles(Path.Combine(store, "pgp"), "*.pub.asc").Order(StringComparer.Ordinal).Last();
        var text = File.ReadAllText(file);
        var start = text.IndexOf("-----BEGIN PGP PUBLIC KEY BLOCK-----\n", StringComparison.Ordinal) + "-----BEGIN PGP PUBLIC KEY BLOCK-----\n".Length;
        var body = text[start..];
        var headerEnd = body.IndexOf("\n\n", StringComparison.Ordinal);
        body = headerEnd >= 0 && body[..headerEnd].Contains(": ", StringComparison.Ordinal) ? body[(headerEnd + 2)..] : body;
        File.WriteAllText(file, text[..start] + Invariant($"Comment: benchmark edit {run}-{Environment.TickCount64}\n\n") + body);
    }

    private static void GpgPeer(string root, string big, int pgp, int runs)
    {
        var home = Path.Combine(root, "gnupg");
        Directory.CreateDirectory(home);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var environment = new Dictionary<string, string> { ["GNUPGHOME"] = home };
        var files = Directory.GetFiles(Path.Combine(big, "pgp"), "*.pub.asc");
        _ = Tools.Run("gpg", root, environment, ["--batch", "--quiet", "--import", .. files]);
        var address = KeyStoreMaterial.PgpAddress(pgp / 2);
        _ = Tools.Run("gpg", root, environment, "--batch", "--list-keys", address);
        var seconds = new List<double>();
        var report = Path.Combine(root, "time.txt");
        for (var run = 0; run < runs * 4; run++)
        {
            _ = Tools.Run("/usr/bin/time", root, environment, "-o", report, "-f", "%U %S", "gpg", "--batch", "--with-colons", "--list-keys", address);
            var parts = File.ReadAllLines(report)[^1].Split(' ');
            seconds.Add(double.Parse(parts[0], CultureInfo.InvariantCulture) + double.Parse(parts[1], CultureInfo.InvariantCulture));
        }

        Console.WriteLine(Invariant($"peer: gpg --list-keys ADDRESS with the same {files.Length} OpenPGP keys: median {Median(seconds.Order().ToList()):F3} CPU s per process (/usr/bin/time counts in 10 ms steps)"));
        Console.WriteLine();
    }

    private static void Baseline(string root, string dll, string rulemail, (string Name, string[] Arguments)[] commands, int runs)
    {
        Console.WriteLine(Invariant($"baseline {dll}, warm (its own start-up included):"));
        Console.WriteLine();
        Console.WriteLine("| command | baseline (median CPU s) | this build, warm (median CPU s) | speed-up |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var (name, arguments) in commands)
        {
            var theirs = Enumerable.Range(0, runs).Select(_ => Time(root, arguments, dll)).Order().ToList();
            var ours = Enumerable.Range(0, runs).Select(_ => Time(root, arguments, rulemail)).Order().ToList();
            Console.WriteLine(Invariant($"| {name} | {Median(theirs):F3} | {Median(ours):F3} | {Median(theirs) / Median(ours):F1}x |"));
        }

        Console.WriteLine();
    }

    /// <summary>The per-message lookups of the composer and the crypto layers, in-process: the same calls in a small and a big store.</summary>
    private static void Lookups(string little, string big)
    {
        var options = new KeyStoreOptions();
        var stores = new[] { (Name: "small", Store: KeyStore.Open(little, options)), (Name: "big", Store: KeyStore.Open(big, options)) };
        string[] addresses = [From, To, "carol@both.test", "bob@partner.test", KeyStoreMaterial.SmimeAddress(3), KeyStoreMaterial.PgpAddress(5), "nobody@nowhere.test"];
        const int Rounds = 200_000;
        Console.WriteLine("| store | entries | ns per lookup (FindSmime + FindPgp + FindPgpByKeyId) |");
        Console.WriteLine("|---|---:|---:|");
        var results = new List<double>();
        foreach (var (name, store) in stores)
        {
            var keyId = store.PgpKeys[0].Keys[^1].KeyId;
            var id = long.Parse(keyId, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var found = 0;
            var best = double.MaxValue;
            for (var repeat = 0; repeat < 5; repeat++)
            {
                var watch = Stopwatch.StartNew();
                for (var i = 0; i < Rounds; i++)
                {
                    var address = addresses[i % addresses.Length];
                    found += store.FindSmime(address, KeyUsages.Encrypt) is null ? 0 : 1;
                    found += store.FindPgp(address, KeyUsages.Encrypt) is null ? 0 : 1;
                    found += store.FindPgpByKeyId(id) is null ? 0 : 1;
                }

                best = Math.Min(best, watch.Elapsed.TotalNanoseconds / Rounds);
            }

            results.Add(best);
            Console.WriteLine(Invariant($"| {name} | {store.Entries.Count} | {best:F0} ({found / 5 / Rounds:F0} found per round) |"));
        }

        Console.WriteLine();
        Console.WriteLine(Invariant($"big/small lookup cost: {results[1] / results[0]:F2}x"));
    }

    /// <summary>
    /// Runs one <c>dotnet rulemail.dll</c> process under <c>/usr/bin/time</c> and returns its CPU seconds (user + system):
    /// on a machine shared with other work the wall time mostly says how long the process waited for a core.
    /// The wall time goes to <see cref="LastWall"/>.
    /// </summary>
    private static double Time(string root, string[] arguments, string? dll = null)
    {
        var report = Path.Combine(root, "time.txt");
        var watch = Stopwatch.StartNew();
        _ = Tools.Run("/usr/bin/time", root, null, ["-o", report, "-f", "%U %S", "dotnet", dll ?? RuleMailProcess.Assembly, .. arguments]);
        LastWall = watch.Elapsed.TotalSeconds;
        var parts = File.ReadAllLines(report)[^1].Split(' ');
        return double.Parse(parts[0], CultureInfo.InvariantCulture) + double.Parse(parts[1], CultureInfo.InvariantCulture);
    }

    private static double LastWall { get; set; }

    private static double Median(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;

    private static int Option(string[] args, string name, int fallback) =>
        Text(args, name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    private static string? Text(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
