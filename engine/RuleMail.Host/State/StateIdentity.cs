using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace RuleMail.Host.State;

/// <summary>
/// <c>STATE.id</c> beside the state database: which database this is (a random store id, also kept inside it)
/// and the highest write sequence known to be committed there (the high-water mark). The database alone cannot
/// tell "new" from "emptied", "replaced by another" or "lost its last commits" — SQLite drops the committed
/// frames after a damaged spot of the <c>-wal</c> without a word — and each of those would run side effects again.
/// </summary>
/// <remarks>
/// The mark is advanced (and flushed to disk) before every call that leaves the host (webhook, notice, SMTP
/// send) and when the store closes, so every commit such a call depends on is covered before the call can
/// happen; at open, a database behind its mark is refused. Seals that queue up behind one flush find the mark
/// already there and cost nothing (a group commit). The record is one
/// 80-byte line rewritten in place (inside one disk sector) with a check (8 hex digits of its SHA-256), held open for the host's life: one
/// small write and one flush per advance. Not thread-safe; the state store serializes calls.
/// </remarks>
internal sealed class StateIdentity : IDisposable
{
    private const string Magic = "rulemail-state 1";
    private const int RecordLength = 80;

    private readonly FileStream _file;

    private StateIdentity(string path, FileStream file, string storeId, long highWater)
    {
        Path = path;
        _file = file;
        StoreId = storeId;
        HighWater = highWater;
    }

    public string Path { get; }

    public string StoreId { get; }

    public long HighWater { get; private set; }

    public static string PathFor(string databasePath) => databasePath + ".id";

    /// <summary>Reads the identity file; null when there is none.</summary>
    /// <exception cref="RuleMailException">It is there but cannot be read or is damaged.</exception>
    public static (string StoreId, long HighWater)? Read(string path)
    {
        byte[] content;
        try
        {
            content = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RuleMailException($"{path}: cannot read the state identity ({e.Message.TrimEnd('.')}); give the user running rulemail access to it", e);
        }

        return Parse(content) ?? throw new RuleMailException(
            $"{path}: the state identity is damaged; restore it from the backup of its state database, or remove it to accept {path[..^3]} as it is");
    }

    /// <summary>Creates or replaces the identity file for <paramref name="storeId"/> at <paramref name="highWater"/>.</summary>
    public static StateIdentity Create(string path, string storeId, long highWater)
    {
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var file = new FileStream(path, options);
        var identity = new StateIdentity(path, file, storeId, -1);
        try
        {
            identity.Advance(highWater);
            file.SetLength(RecordLength);
            file.Flush(flushToDisk: true);
            FlushFolder(path);
        }
        catch
        {
            file.Dispose();
            throw;
        }

        return identity;
    }

    /// <summary>Records that everything up to <paramref name="sequence"/> is committed; durable when this returns.</summary>
    public void Advance(long sequence)
    {
        if (sequence <= HighWater)
        {
            return;
        }

        var body = $"{Magic} {StoreId} {sequence.ToString("D20", CultureInfo.InvariantCulture)}";
        var line = Encoding.ASCII.GetBytes($"{body} {Check(body)}".PadRight(RecordLength - 1) + "\n");
        _file.Position = 0;
        _file.Write(line);
        _file.Flush(flushToDisk: true);
        HighWater = sequence;
    }

    public void Dispose() => _file.Dispose();

    private static (string StoreId, long HighWater)? Parse(byte[] content)
    {
        var parts = Encoding.ASCII.GetString(content).TrimEnd('\n', ' ').Split(' ');
        if (parts.Length != 5 || $"{parts[0]} {parts[1]}" != Magic
            || !long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var highWater)
            || parts[4] != Check(string.Join(' ', parts[..4])))
        {
            return null;
        }

        return (parts[2], highWater);
    }

    /// <summary>A check on the record, so a torn or edited line is refused rather than read as a lower mark.</summary>
    private static string Check(string body) => Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(body)))[..8];

    /// <summary>A new file's name is durable only once its folder is flushed too.</summary>
    private static void FlushFolder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        try
        {
            using var folder = new FileStream(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!, FileMode.Open, FileAccess.Read);
            folder.Flush(flushToDisk: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Some file systems refuse to open a folder as a file; the record itself is flushed already.
        }
    }
}
