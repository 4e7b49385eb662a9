using System.Globalization;
using System.Text;
using RuleMail.Core.Tests.Support;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Benchmarks.Pipeline;

/// <summary>What gpg took to decrypt and verify the large PGP message: wall seconds and peak resident size (<c>/usr/bin/time</c>).</summary>
internal sealed record GpgMeasure(double Seconds, long PeakBytes);

/// <summary>
/// The peer of the large PGP row: <c>gpg --decrypt</c> of the same OpenPGP message (the armored block of the PGP/MIME part,
/// cut out of the .eml), with the benchmark's keys (support's secret key, bob's public key) in a temporary GNUPGHOME and its
/// agent warmed by one small decryption first, plaintext to /dev/null. The median of three runs.
/// </summary>
internal static class PipelineGpgPeer
{
    public static GpgMeasure Measure(string eml, TempDirectory work)
    {
        var source = Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "source");
        var passphrase = File.ReadLines(Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "passphrase.txt")).First().Trim();
        var armored = work.File("peer.asc");
        CutArmor(eml, armored);
        var home = work.File("peer-gnupg");
        Directory.CreateDirectory(home);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var options = new ToolOptions { WorkingDirectory = work.Path, Timeout = TimeSpan.FromMinutes(5), Environment = new Dictionary<string, string> { ["GNUPGHOME"] = home } };
        string[] batch = ["--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", passphrase, "--trust-model", "always"];
        try
        {
            ExternalTool.Run("gpg", [.. batch, "--import", Path.Combine(source, "support.sec.asc"), Path.Combine(source, "bob.pub.asc")], options);
            var small = work.File("peer-small.asc");
            ExternalTool.Run("gpg", [.. batch, "--armor", "--recipient", "support@rulemail.test", "-o", small, "--encrypt"], new ToolOptions { WorkingDirectory = options.WorkingDirectory, Timeout = options.Timeout, Environment = options.Environment, Input = "warm-up"u8.ToArray() });
            ExternalTool.Run("gpg", [.. batch, "--decrypt", "-o", "/dev/null", small], options);
            var runs = new List<GpgMeasure>();
            for (var i = 0; i < 3; i++)
            {
                var result = ExternalTool.Run("/usr/bin/time", ["-f", "%M %e", "gpg", .. batch, "--decrypt", "-o", "/dev/null", armored], options);
                var last = result.StandardError.TrimEnd().Split('\n')[^1].Split(' ');
                runs.Add(new GpgMeasure(double.Parse(last[1], CultureInfo.InvariantCulture), long.Parse(last[0], CultureInfo.InvariantCulture) * 1024));
            }

            return runs.OrderBy(r => r.Seconds).ElementAt(1);
        }
        finally
        {
            // The agent this gpg started for the temporary home; only that one.
            ExternalTool.TryRun("gpgconf", ["--kill", "gpg-agent"], options);
            File.Delete(armored);
        }
    }

    /// <summary>Copies the lines from BEGIN PGP MESSAGE to END PGP MESSAGE of <paramref name="eml"/> into <paramref name="target"/>.</summary>
    private static void CutArmor(string eml, string target)
    {
        using var reader = new StreamReader(eml, Encoding.Latin1);
        using var writer = new StreamWriter(target, append: false, Encoding.Latin1);
        var inside = false;
        for (var line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            inside |= line.StartsWith("-----BEGIN PGP MESSAGE-----", StringComparison.Ordinal);
            if (inside)
            {
                writer.Write(line);
                writer.Write('\n');
            }

            if (line.StartsWith("-----END PGP MESSAGE-----", StringComparison.Ordinal))
            {
                return;
            }
        }

        throw new InvalidOperationException($"{eml} holds no armored OpenPGP message");
    }
}
