using System.Security.Cryptography;
using System.Text;

namespace RuleMail.Host.Tests.Processing;

/// <summary>
/// An account's outbox as a ticket system sees it: drop raw <c>.eml</c> files in, and look at what the send job
/// left in the outbox itself and in its <c>sent/</c>, <c>held/</c> and <c>failed/</c> subfolders.
/// </summary>
internal sealed class OutboxFolder(string path)
{
    public const string From = "Support <support@rulemail.test>";

    public string Path { get; } = path;

    /// <summary>The <c>.eml</c> files still waiting in the outbox itself, by name.</summary>
    public IReadOnlyList<string> Pending => Names(Path);

    /// <summary>
    /// A plain text message as a ticket system writes it (CRLF lines, no Message-ID unless given), with the extra
    /// header lines (e.g. <c>X-RuleMail-Encrypt: yes</c>) after the standard ones.
    /// </summary>
    public static string Mail(string to, string subject, string body, string? messageId = null, params string[] headers)
    {
        var text = new StringBuilder()
            .Append("From: ").Append(From).Append("\r\n")
            .Append("To: ").Append(to).Append("\r\n")
            .Append("Subject: ").Append(subject).Append("\r\n")
            .Append("Date: Mon, 02 Jun 2025 10:00:00 +0000\r\n");
        if (messageId is not null)
        {
            text.Append("Message-ID: <").Append(messageId).Append(">\r\n");
        }

        foreach (var header in headers)
        {
            text.Append(header).Append("\r\n");
        }

        return text
            .Append("MIME-Version: 1.0\r\n")
            .Append("Content-Type: text/plain; charset=utf-8\r\n")
            .Append("Content-Transfer-Encoding: 8bit\r\n")
            .Append("\r\n")
            .Append(body.ReplaceLineEndings("\r\n")).Append("\r\n")
            .ToString();
    }

    /// <summary>The content hash the ledger keys an outbox file by (with the account and the file name).</summary>
    public static string Hash(byte[] raw) => Convert.ToHexStringLower(SHA256.HashData(raw));

    /// <summary>Writes the file into the outbox and returns its bytes.</summary>
    public byte[] Drop(string fileName, string text)
    {
        Directory.CreateDirectory(Path);
        var raw = Encoding.UTF8.GetBytes(text);
        File.WriteAllBytes(System.IO.Path.Combine(Path, fileName), raw);
        return raw;
    }

    /// <summary>Writes the file under a name the send job does not read and renames it into the outbox: it appears whole.</summary>
    public void DropWhole(string fileName, string text)
    {
        Directory.CreateDirectory(Path);
        var temp = System.IO.Path.Combine(Path, $".{fileName}.tmp");
        File.WriteAllBytes(temp, Encoding.UTF8.GetBytes(text));
        File.Move(temp, System.IO.Path.Combine(Path, fileName));
    }

    /// <summary>The files in <c>sent/</c>, <c>held/</c> or <c>failed/</c>, by name.</summary>
    public IReadOnlyList<string> In(string folder) => Names(System.IO.Path.Combine(Path, folder));

    public byte[] Read(string folder, string fileName) => File.ReadAllBytes(System.IO.Path.Combine(Path, folder, fileName));

    /// <summary>Puts a filed copy back into the outbox, as a crash before the move (or a person retrying) would leave it.</summary>
    public void PutBack(string folder, string fileName) =>
        File.Copy(System.IO.Path.Combine(Path, folder, fileName), System.IO.Path.Combine(Path, fileName));

    private static List<string> Names(string folder) => Directory.Exists(folder)
        ? [.. Directory.GetFiles(folder, "*.eml").Select(f => System.IO.Path.GetFileName(f)).Order(StringComparer.Ordinal)]
        : [];
}
