using System.Globalization;
using MimeKit;
using RuleMail.Core.Tests.Support;
using RuleMail.Host.Transport;

namespace RuleMail.Host.Tests.Cluster;

/// <summary>
/// A Maildir in a temporary folder, standing for one on storage every node mounts at the same path. Messages are delivered
/// the way a delivery agent does (written to <c>tmp/</c>, renamed into <c>new/</c>); every seventh is delivered as read
/// (<c>cur/NAME:2,S</c>), as a mail client would have left it. Folders and keywords are read as Dovecot keeps them.
/// </summary>
internal sealed class MaildirClusterMailbox : ClusterMailbox
{
    private static readonly string[] Subfolders = ["new", "cur"];
    private readonly TempDirectory _folder = new("cluster-maildir");
    private int _delivered;

    public MaildirClusterMailbox()
    {
        foreach (var sub in new[] { "cur", "new", "tmp" })
        {
            Directory.CreateDirectory(Path.Combine(Root, sub));
        }
    }

    public string Root => _folder.File("Maildir");

    public override string FetchYaml => $"      maildir: {Root}";

    public override async Task DeliverAsync(IReadOnlyList<MimeMessage> messages)
    {
        var seconds = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        foreach (var message in messages)
        {
            var number = _delivered++;
            var name = string.Create(CultureInfo.InvariantCulture, $"{seconds}.M{number:000000}P{Environment.ProcessId}.rulemail-test");
            var temporary = Path.Combine(Root, "tmp", name);
            await using (var file = File.Create(temporary))
            {
                await message.WriteToAsync(file);
            }

            File.Move(temporary, number % 7 == 6 ? Path.Combine(Root, "cur", name + ":2,S") : Path.Combine(Root, "new", name));
        }
    }

    public override async Task<IReadOnlyList<Stored>> ListAsync(string folder)
    {
        var directory = string.Equals(folder, "INBOX", StringComparison.OrdinalIgnoreCase) ? Root : Path.Combine(Root, "." + folder);
        var letters = MaildirKeywords.Read(Path.Combine(directory, MaildirKeywords.FileName));
        var stored = new List<Stored>();
        foreach (var path in Subfolders.Select(sub => Path.Combine(directory, sub)).Where(Directory.Exists).SelectMany(Directory.EnumerateFiles))
        {
            using var message = await MimeMessage.LoadAsync(path);
            var keywords = MaildirFileName.FlagsOf(Path.GetFileName(path)).Where(c => c is >= 'a' and <= 'z').Select(c => letters[c - 'a'] ?? $"(no name for {c})");
            stored.Add(new Stored(message.MessageId, new HashSet<string>(keywords, StringComparer.OrdinalIgnoreCase)));
        }

        return stored;
    }

    /// <summary>Files left in <c>tmp/</c> of the root or any folder (a rename only ever moves between <c>new/</c> and <c>cur/</c> folders).</summary>
    public IReadOnlyList<string> LeftInTmp() =>
        [.. Directory.EnumerateDirectories(Root, "tmp", SearchOption.AllDirectories).SelectMany(Directory.EnumerateFiles)];

    public override ValueTask DisposeAsync()
    {
        _folder.Dispose();
        return ValueTask.CompletedTask;
    }
}
