using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Benchmarks.Pipeline;

/// <summary>One kind of incoming message: its demo template, how the pipeline must judge it, and how a large one is made.</summary>
internal sealed record MailKind(string Name, string Label, string Demo, Func<SecurityResult?, bool> IsExpected)
{
    public static MailKind Plain { get; } = new("plain", "plain", "plain",
        s => s is null || (s.Sign is null && s.Encryption is null));

    public static MailKind SmimeSigned { get; } = new("smime-signed", "S/MIME signed (RSA-2048)", "smime-signed",
        s => s is { Type: SecurityResult.SmimeType, Sign.Success: true, Encryption: null });

    public static MailKind SmimeSignedEncrypted { get; } = new("smime", "S/MIME signed+encrypted (RSA-2048)", "smime-signed-encrypted",
        s => s is { Type: SecurityResult.SmimeType, Sign.Success: true, Encryption.Success: true });

    public static MailKind PgpSignedEncrypted { get; } = new("pgp", "PGP/MIME signed (RSA-3072) + encrypted (Cv25519)", "pgp-signed-encrypted",
        s => s is { Type: SecurityResult.PgpType, Sign.Success: true, Encryption.Success: true });

    public static IReadOnlyList<MailKind> All { get; } = [Plain, SmimeSigned, SmimeSignedEncrypted, PgpSignedEncrypted];

    public static MailKind Named(string name) => All.Single(k => k.Name == name);
}

/// <summary>
/// The messages the pipeline benchmark appends: copies of the demo messages (keystore-sample/mailbox) that differ
/// only in their Message-ID, so every copy has its own content hash; and one large message per kind, made with real
/// openssl and gpg from the sample material (keystore-sample/source) around an attachment of random bytes.
/// </summary>
internal static partial class PipelineMail
{
    /// <summary>The demo message with its Message-ID replaced by <paramref name="messageId"/>; every other byte unchanged.</summary>
    public static byte[] Copy(MailKind kind, string messageId)
    {
        var text = Encoding.Latin1.GetString(HostHarness.DemoMessage(kind.Demo));
        var replaced = MessageIdHeader().Replace(text, $"Message-ID: <{messageId}>", 1);
        return replaced == text
            ? throw new InvalidOperationException($"the demo message {kind.Demo} has no Message-ID to replace")
            : Encoding.Latin1.GetBytes(replaced);
    }

    /// <summary>
    /// Writes a message of the kind with an attachment of <paramref name="attachmentBytes"/> random bytes (base64 in the
    /// message, so about 4/3 of that on the wire) to a file in <paramref name="work"/> and returns its path.
    /// </summary>
    public static string Large(MailKind kind, long attachmentBytes, TempDirectory work, string messageId)
    {
        var source = Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "source");
        var passphrase = File.ReadLines(Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "passphrase.txt")).First().Trim();
        var inner = work.File($"{kind.Name}.inner");
        WriteMixed(inner, attachmentBytes);
        var output = work.File($"{kind.Name}.eml");
        var options = new ToolOptions { WorkingDirectory = work.Path, Timeout = TimeSpan.FromMinutes(10) };
        string from;
        string body;
        if (kind == MailKind.Plain)
        {
            from = "alice@customer.test";
            body = inner;
        }
        else if (kind == MailKind.SmimeSigned)
        {
            from = "alice@customer.test";
            body = work.File("smime-signed.body");
            ExternalTool.Run("openssl", ["smime", "-sign", "-in", inner, "-signer", Path.Combine(source, "alice.crt"),
                "-inkey", Path.Combine(source, "alice.key"), "-passin", $"pass:{passphrase}", "-out", body], options);
        }
        else if (kind == MailKind.SmimeSignedEncrypted)
        {
            from = "carol@both.test";
            var signed = work.File("smime.signed");
            body = work.File("smime.body");
            ExternalTool.Run("openssl", ["smime", "-sign", "-in", inner, "-signer", Path.Combine(source, "carol.crt"),
                "-inkey", Path.Combine(source, "carol.key"), "-passin", $"pass:{passphrase}", "-out", signed], options);
            ExternalTool.Run("openssl", ["smime", "-encrypt", "-aes256", "-in", signed, "-out", body, Path.Combine(source, "support.crt")], options);
            File.Delete(signed);
        }
        else
        {
            from = "bob@partner.test";
            body = work.File("pgp.body");
            var home = work.File("gnupg");
            Directory.CreateDirectory(home);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            var gpg = new ToolOptions { WorkingDirectory = work.Path, Timeout = options.Timeout, Environment = new Dictionary<string, string> { ["GNUPGHOME"] = home } };
            string[] batch = ["--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", passphrase, "--trust-model", "always"];
            try
            {
                ExternalTool.Run("gpg", [.. batch, "--import", Path.Combine(source, "bob.sec.asc"), Path.Combine(source, "support.pub.asc")], gpg);
                var armored = work.File("pgp.asc");
                ExternalTool.Run("gpg", [.. batch, "--armor", "--sign", "--encrypt", "-u", "bob@partner.test", "-r", "support@rulemail.test", "-o", armored, inner], gpg);
                using (var mime = File.Create(body))
                {
                    Write(mime, "MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"pgp-bench\"\r\n\r\n");
                    Write(mime, "--pgp-bench\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n");
                    Write(mime, "--pgp-bench\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n");
                    using (var armor = File.OpenRead(armored))
                    {
                        armor.CopyTo(mime);
                    }

                    Write(mime, "\r\n--pgp-bench--\r\n");
                }

                File.Delete(armored);
            }
            finally
            {
                // The agent this gpg started for the temporary home; only that one.
                ExternalTool.TryRun("gpgconf", ["--kill", "gpg-agent"], gpg);
            }
        }

        using (var message = File.Create(output))
        {
            Write(message, string.Create(CultureInfo.InvariantCulture,
                $"From: {from}\r\nTo: RuleMail Support <support@rulemail.test>\r\nSubject: Large attachment ({kind.Label})\r\n" +
                $"Date: {DateTimeOffset.FromUnixTimeSeconds(1_764_406_800):R}\r\nMessage-ID: <{messageId}>\r\n"));
            if (kind == MailKind.Plain)
            {
                // openssl's output and the PGP/MIME body above start with their own MIME-Version.
                Write(message, "MIME-Version: 1.0\r\n");
            }

            using var content = File.OpenRead(body);
            content.CopyTo(message);
        }

        File.Delete(inner);
        if (body != inner)
        {
            File.Delete(body);
        }

        return output;
    }

    /// <summary>A multipart/mixed entity: a line of text and the attachment (random bytes, base64, 76 characters a line).</summary>
    private static void WriteMixed(string path, long attachmentBytes)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Write(file, "Content-Type: multipart/mixed; boundary=\"bench-mixed\"\r\n\r\n");
        Write(file, "--bench-mixed\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe export you asked for is attached.\r\n");
        Write(file, "--bench-mixed\r\nContent-Type: application/octet-stream; name=\"export.bin\"\r\n" +
                    "Content-Disposition: attachment; filename=\"export.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
        var chunk = new byte[57 * 16384];
        for (var left = attachmentBytes; left > 0; left -= chunk.Length)
        {
            var length = (int)Math.Min(chunk.Length, left);
            RandomNumberGenerator.Fill(chunk.AsSpan(0, length));
            Write(file, Convert.ToBase64String(chunk, 0, length, Base64FormattingOptions.InsertLineBreaks));
            Write(file, "\r\n");
        }

        Write(file, "--bench-mixed--\r\n");
    }

    private static void Write(Stream stream, string text) => stream.Write(Encoding.ASCII.GetBytes(text));

    [GeneratedRegex(@"(?im)^Message-ID:[ \t]*<[^>\r\n]*>")]
    private static partial Regex MessageIdHeader();
}
