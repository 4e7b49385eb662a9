using System.Globalization;
using System.Text;
using RuleMail.Host.State;

namespace RuleMail.Host.Transport;

/// <summary>
/// A Maildir's root folder (<c>INBOX</c>), laid out the way Dovecot keeps it: messages are the files in
/// <c>new/</c> and <c>cur/</c>, keyed by their unique name (the file name before <c>:2,</c>, which stays the same
/// when flags change). Keywords are Dovecot's Maildir keywords (<c>dovecot-keywords</c> plus a letter in the
/// file name's flags) and folders are Maildir++ (<c>Quarantine</c> is <c>.Quarantine/</c>, <c>A/B</c> is <c>.A.B/</c>),
/// so an IMAP server serving the same Maildir shows both. Files are only ever renamed, never copied and deleted.
/// </summary>
/// <param name="root">The Maildir (the folder holding <c>cur/</c>, <c>new/</c> and <c>tmp/</c>).</param>
/// <param name="account">The account the ledger files this Maildir's messages under.</param>
public sealed partial class MaildirSource(string root, string account) : IMailSource
{
    /// <summary>Dovecot's map of keyword letters to names, in the Maildir's root.</summary>
    internal const string KeywordsFileName = "dovecot-keywords";

    /// <summary>Dovecot's lock for the uidlist; it also guards <c>dovecot-keywords</c>, so we take it to add a keyword.</summary>
    internal const string UidlistLockName = "dovecot-uidlist.lock";

    /// <summary>Keywords are the letters a to z.</summary>
    internal const int MaxKeywords = 26;

    private const string InfoFlags = ":2,";

    // A message renamed (a flag change by a mail client) between finding and using it is found again; this many times.
    private const int Attempts = 5;
    private const int LockWaitMilliseconds = 100;
    private const int LockAttempts = 100;
    private const string NotAtomChars = "()[]{}%*\"\\";

    private readonly string _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));

    public string Folder => "INBOX";

    /// <summary>The Maildir's full path.</summary>
    public string Root => _root;

    public Task ConnectAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(_root))
        {
            throw new MailSourceException($"Maildir {_root} does not exist");
        }

        if (!Directory.Exists(Subfolder("cur")) || !Directory.Exists(Subfolder("new")))
        {
            throw new MailSourceException($"{_root} is not a Maildir: it needs cur/ and new/ folders");
        }

        return Task.CompletedTask;
    }

    public async Task<IReadOnlyList<SourceMessage>> ListAsync(IStateStore state, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        var files = Scan();
        if (files.Count == 0)
        {
            return [];
        }

        var known = await state.FindMessagesAsync(account, Folder, files.Keys, cancellationToken).ConfigureAwait(false);
        var due = await state.DueMessagesAsync(account, Folder, now, cancellationToken).ConfigureAwait(false);
        var dueKeys = due.Select(entry => entry.SourceKey).ToHashSet(StringComparer.Ordinal);
        return
        [
            .. files.Values
                .Where(file => !known.ContainsKey(file.Key) || dueKeys.Contains(file.Key))
                .OrderBy(file => file.Timestamp)
                .ThenBy(file => file.Modified)
                .ThenBy(file => file.Name, StringComparer.Ordinal)
                .Select(file => new SourceMessage(file.Key, Location: file.Path)),
        ];
    }

    public async Task<bool> CopyToAsync(SourceMessage message, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(destination);
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            if (Locate(message) is not { } path)
            {
                return false;
            }

            FileStream stream;
            try
            {
                stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 81920, useAsync: true);
            }
            catch (IOException) when (!File.Exists(path))
            {
                // Renamed by a flag change since it was found: look again.
                continue;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new MailSourceException($"Maildir {_root}: cannot read {path}: {e.Message}", e);
            }

            await using (stream.ConfigureAwait(false))
            {
                await stream.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
            }

            return true;
        }

        throw StillRenaming(message);
    }

    /// <summary>Nothing to do: the ledger remembers which unique names were seen.</summary>
    public Task RecordedAsync(SourceMessage message, IStateStore state, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Sets a Dovecot Maildir keyword: the name gets a letter in <c>dovecot-keywords</c> (added under Dovecot's
    /// uidlist lock when missing) and the file is renamed with that letter in its <c>:2,</c> flags. A message in
    /// <c>new/</c> moves to <c>cur/</c> on the way, as the Maildir rules require of a file with flags.
    /// </summary>
    public async Task<SourceActionResult> AddKeywordAsync(SourceMessage message, string keyword, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(keyword);
        if (KeywordProblem(keyword) is { } problem)
        {
            return SourceActionResult.Unsupported(problem);
        }

        if (Locate(message) is null)
        {
            return SourceActionResult.Gone;
        }

        var index = await KeywordIndexAsync(_root, keyword, cancellationToken).ConfigureAwait(false);
        if (index < 0)
        {
            return SourceActionResult.Unsupported(
                $"the Maildir {_root} already has {MaxKeywords} keywords, the most Dovecot's Maildir keywords allow; '{keyword}' was not set");
        }

        var letter = (char)('a' + index);
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            if (Locate(message) is not { } path)
            {
                return SourceActionResult.Gone;
            }

            var name = Path.GetFileName(path);
            if (FlagsOf(name).Contains(letter, StringComparison.Ordinal))
            {
                return SourceActionResult.Ok;
            }

            if (TryRename(path, Path.Combine(Subfolder("cur"), WithFlag(name, letter))))
            {
                return SourceActionResult.Ok;
            }
        }

        throw StillRenaming(message);
    }

    /// <summary>
    /// Moves the file, by rename only and keeping its unique name, into the Maildir++ folder's <c>cur/</c> (<c>new/</c>
    /// when it was still new), creating the folder as Dovecot does. Every Maildir++ folder has its own
    /// <c>dovecot-keywords</c>, so keyword letters are translated to the target's (a keyword that no longer fits
    /// there, past 26, is dropped rather than holding the move up). A message already in the target counts as moved.
    /// </summary>
    /// <exception cref="MailSourceException">The rename failed, for example because the folder is on another filesystem.</exception>
    public async Task<SourceActionResult> MoveAsync(SourceMessage message, string folder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(folder);
        var directory = FolderDirectory(folder, out var problem);
        if (directory is null)
        {
            return SourceActionResult.Unsupported(problem!);
        }

        if (directory.Length == 0)
        {
            return Locate(message) is null ? SourceActionResult.Gone : SourceActionResult.Ok;
        }

        var target = Path.Combine(_root, directory);
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            if (Locate(message) is not { } path)
            {
                // Moved on an earlier attempt whose result was not recorded: that is done, not gone.
                return Find(target, message.SourceKey) is null ? SourceActionResult.Gone : Moved(folder, message.SourceKey);
            }

            CreateFolder(target);
            var subfolder = Path.GetFileName(Path.GetDirectoryName(path))!;
            var name = await TranslateKeywordsAsync(Path.GetFileName(path), target, cancellationToken).ConfigureAwait(false);
            if (TryRename(path, Path.Combine(target, subfolder, name)))
            {
                return Moved(folder, message.SourceKey);
            }
        }

        throw StillRenaming(message);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>The unique name of a Maildir file: its name up to the first <c>:</c> (where the <c>:2,FLAGS</c> info begins).</summary>
    internal static string KeyOf(string fileName)
    {
        var colon = fileName.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? fileName : fileName[..colon];
    }

    /// <summary>The flag letters of a file name's <c>:2,</c> info (empty when it has none).</summary>
    internal static string FlagsOf(string fileName)
    {
        var colon = fileName.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0 || !fileName.AsSpan(colon).StartsWith(InfoFlags, StringComparison.Ordinal))
        {
            return "";
        }

        var flags = fileName[(colon + InfoFlags.Length)..];
        var comma = flags.IndexOf(',', StringComparison.Ordinal);
        return comma < 0 ? flags : flags[..comma];
    }

    /// <summary>The file name with <paramref name="flag"/> added to its <c>:2,</c> flags (see <see cref="WithFlags"/>).</summary>
    internal static string WithFlag(string fileName, char flag) => WithFlags(fileName, FlagsOf(fileName) + flag);

    /// <summary>
    /// The file name with <paramref name="flags"/> as its <c>:2,</c> flags, sorted by ASCII code (uppercase standard
    /// flags first, then keyword letters) as Dovecot writes them; anything after a further <c>,</c> is kept. Other
    /// info (<c>:1,…</c>) is replaced.
    /// </summary>
    internal static string WithFlags(string fileName, IEnumerable<char> flags)
    {
        var key = KeyOf(fileName);
        var rest = fileName.AsSpan(key.Length).StartsWith(InfoFlags, StringComparison.Ordinal)
            ? fileName[(key.Length + InfoFlags.Length + FlagsOf(fileName).Length)..]
            : "";
        return key + InfoFlags + new string([.. flags.Distinct().Order()]) + rest;
    }

    /// <summary>Why <paramref name="keyword"/> cannot be an IMAP keyword (an atom), or null when it can.</summary>
    internal static string? KeywordProblem(string keyword)
    {
        if (keyword.Length == 0)
        {
            return "an empty keyword cannot be set";
        }

        foreach (var c in keyword)
        {
            if (c <= ' ' || c >= '\x7f' || NotAtomChars.Contains(c, StringComparison.Ordinal))
            {
                return $"'{Printable(keyword)}' is not a valid IMAP keyword: use printable ASCII without spaces or any of ( ) [ ] {{ }} % * \" \\";
            }
        }

        return null;
    }

    /// <summary>
    /// The Maildir++ directory of an IMAP folder name (<c>A/B</c> → <c>.A.B</c>, non-ASCII in modified UTF-7 as
    /// Dovecot stores it), empty for <c>INBOX</c>, or null with the reason when the name cannot be a folder here.
    /// </summary>
    internal static string? FolderDirectory(string folder, out string? problem)
    {
        problem = null;
        if (string.Equals(folder, "INBOX", StringComparison.OrdinalIgnoreCase))
        {
            return "";
        }

        var parts = folder.Split('/');
        foreach (var part in parts)
        {
            if (part.Length == 0 || part is "." or "..")
            {
                problem = $"'{Printable(folder)}' is not a folder name (empty or relative part; levels are separated by a single '/')";
                return null;
            }

            if (part.Contains('.', StringComparison.Ordinal))
            {
                problem = $"'{Printable(folder)}' cannot be a Maildir++ folder: '.' separates levels there, use '/' (A/B)";
                return null;
            }

            if (part.Any(c => char.IsControl(c) || c is '\\' or '*' or '%'))
            {
                problem = $"'{Printable(folder)}' is not a folder name (control characters, '\\', '*' and '%' are not allowed)";
                return null;
            }
        }

        return "." + string.Join('.', parts.Select(EncodeModifiedUtf7));
    }

    /// <summary>IMAP's modified UTF-7 (RFC 3501 5.1.3): <c>&amp;</c> is <c>&amp;-</c>, non-ASCII runs are UTF-16 in base64 with <c>,</c> for <c>/</c>.</summary>
    internal static string EncodeModifiedUtf7(string name)
    {
        var encoded = new StringBuilder(name.Length);
        var i = 0;
        while (i < name.Length)
        {
            var c = name[i];
            if (c is >= ' ' and <= '~')
            {
                encoded.Append(c == '&' ? "&-" : c.ToString());
                i++;
                continue;
            }

            var start = i;
            while (i < name.Length && name[i] is < ' ' or > '~')
            {
                i++;
            }

            var utf16 = Encoding.BigEndianUnicode.GetBytes(name, start, i - start);
            encoded.Append('&').Append(Convert.ToBase64String(utf16).TrimEnd('=').Replace('/', ',')).Append('-');
        }

        return encoded.ToString();
    }

    private string Subfolder(string name) => Path.Combine(_root, name);

    /// <summary>The messages now in new/ and cur/ by unique name.</summary>
    private Dictionary<string, MaildirFile> Scan()
    {
        var files = new Dictionary<string, MaildirFile>(StringComparer.Ordinal);
        try
        {
            // new/ before cur/: a message moved from new/ to cur/ while we look is then seen twice (the later
            // sighting wins), never missed.
            foreach (var folder in new[] { Subfolder("new"), Subfolder("cur") })
            {
                foreach (var file in new DirectoryInfo(folder).EnumerateFiles())
                {
                    var key = KeyOf(file.Name);
                    if (file.Name.StartsWith('.') || key.Length == 0)
                    {
                        continue;
                    }

                    var modified = file.LastWriteTimeUtc;
                    files[key] = new MaildirFile(key, file.Name, file.FullName, TimestampOf(file.Name, modified), modified.Ticks);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MailSourceException($"Maildir {_root}: cannot list the messages: {e.Message}", e);
        }

        return files;
    }

    /// <summary>The delivery time in Unix seconds: the unique name's leading <c>seconds.</c>, else the file's mtime.</summary>
    private static long TimestampOf(string name, DateTime modifiedUtc)
    {
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && long.TryParse(name.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? seconds
            : new DateTimeOffset(modifiedUtc, TimeSpan.Zero).ToUnixTimeSeconds();
    }

    /// <summary>Where the message is now: its listed path while that still holds it, else found again by unique name.</summary>
    private string? Locate(SourceMessage message)
    {
        if (message.Location is { } location
            && string.Equals(KeyOf(Path.GetFileName(location)), message.SourceKey, StringComparison.Ordinal)
            && Path.GetDirectoryName(location) is { } folder
            && (string.Equals(folder, Subfolder("new"), StringComparison.Ordinal) || string.Equals(folder, Subfolder("cur"), StringComparison.Ordinal))
            && File.Exists(location))
        {
            return location;
        }

        try
        {
            return Find(_root, message.SourceKey);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MailSourceException($"Maildir {_root}: cannot look for {message.SourceKey}: {e.Message}", e);
        }
    }

    private static string? Find(string maildir, string key)
    {
        foreach (var name in new[] { "new", "cur" })
        {
            var folder = Path.Combine(maildir, name);
            if (!Directory.Exists(folder))
            {
                continue;
            }

            foreach (var path in Directory.EnumerateFiles(folder))
            {
                if (string.Equals(KeyOf(Path.GetFileName(path)), key, StringComparison.Ordinal))
                {
                    return path;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// rename(2), which never copies: <see cref="Directory.Move"/> renames files too and, unlike <see cref="File.Move(string, string)"/>,
    /// neither links and unlinks nor falls back to copy-and-delete across filesystems. False when the source has gone
    /// (renamed or moved by someone else meanwhile).
    /// </summary>
    private bool TryRename(string source, string destination)
    {
        try
        {
            Directory.Move(source, destination);
            return true;
        }
        catch (IOException) when (!File.Exists(source))
        {
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MailSourceException($"Maildir {_root}: cannot rename {source} to {destination} (RuleMail only renames, never copies and deletes): {e.Message}", e);
        }
    }

    /// <summary>Creates a Maildir++ folder's cur/, new/ and tmp/ (with the root's permissions) and its <c>maildirfolder</c> marker.</summary>
    private void CreateFolder(string folder)
    {
        try
        {
            foreach (var name in new[] { "cur", "new", "tmp" })
            {
                var path = Path.Combine(folder, name);
                if (OperatingSystem.IsWindows())
                {
                    Directory.CreateDirectory(path);
                }
                else
                {
                    Directory.CreateDirectory(path, File.GetUnixFileMode(_root));
                }
            }

            var marker = Path.Combine(folder, "maildirfolder");
            if (!File.Exists(marker))
            {
                using (new FileStream(marker, FileMode.OpenOrCreate, FileAccess.Write))
                {
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MailSourceException($"Maildir {_root}: cannot create the folder {folder}: {e.Message}", e);
        }
    }

    /// <summary>
    /// The name with its keyword letters translated from this Maildir's <c>dovecot-keywords</c> to the target folder's.
    /// Letters without a name here (lost) are dropped, as are keywords the target has no room for.
    /// </summary>
    private async Task<string> TranslateKeywordsAsync(string name, string target, CancellationToken cancellationToken)
    {
        var flags = FlagsOf(name);
        if (!flags.Any(IsKeywordLetter))
        {
            return name;
        }

        string?[] here;
        try
        {
            here = ReadKeywords(Path.Combine(_root, KeywordsFileName));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MailSourceException($"Maildir {_root}: cannot read {KeywordsFileName}: {e.Message}", e);
        }

        var translated = new List<char>(flags.Where(c => !IsKeywordLetter(c)));
        foreach (var letter in flags.Where(IsKeywordLetter))
        {
            if (here[letter - 'a'] is { } keyword && await KeywordIndexAsync(target, keyword, cancellationToken).ConfigureAwait(false) is >= 0 and var index)
            {
                translated.Add((char)('a' + index));
            }
        }

        return WithFlags(name, translated);
    }

    private static bool IsKeywordLetter(char c) => c is >= 'a' and <= 'z';

    /// <summary>The keyword's index in the Maildir's <c>dovecot-keywords</c>, added when missing; -1 when all 26 are taken.</summary>
    private static async Task<int> KeywordIndexAsync(string maildir, string keyword, CancellationToken cancellationToken)
    {
        var path = Path.Combine(maildir, KeywordsFileName);
        try
        {
            var index = Array.FindIndex(ReadKeywords(path), name => string.Equals(name, keyword, StringComparison.OrdinalIgnoreCase));
            if (index >= 0)
            {
                return index;
            }

            var held = await LockAsync(maildir, cancellationToken).ConfigureAwait(false);
            await using (held.ConfigureAwait(false))
            {
                // Read again under the lock: Dovecot may have added keywords meanwhile.
                var names = ReadKeywords(path);
                index = Array.FindIndex(names, name => string.Equals(name, keyword, StringComparison.OrdinalIgnoreCase));
                if (index >= 0)
                {
                    return index;
                }

                index = Array.IndexOf(names, null);
                if (index < 0)
                {
                    return -1;
                }

                names[index] = keyword;
                WriteKeywords(maildir, names);
                return index;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MailSourceException($"Maildir {maildir}: cannot update {KeywordsFileName}: {e.Message}", e);
        }
    }

    /// <summary>Dovecot's lines <c>N name</c>; lines it would skip are skipped.</summary>
    private static string?[] ReadKeywords(string path)
    {
        var names = new string?[MaxKeywords];
        if (!File.Exists(path))
        {
            return names;
        }

        foreach (var line in File.ReadLines(path))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && space < line.Length - 1
                && int.TryParse(line.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                && index < MaxKeywords)
            {
                names[index] = line[(space + 1)..];
            }
        }

        return names;
    }

    /// <summary>
    /// Replaces <c>dovecot-keywords</c> atomically (a temporary file renamed over it). Its mtime must grow each time,
    /// since Dovecot re-reads the file only when the mtime (in seconds) changes.
    /// </summary>
    private static void WriteKeywords(string maildir, string?[] names)
    {
        var path = Path.Combine(maildir, KeywordsFileName);
        var text = new StringBuilder();
        for (var i = 0; i < names.Length; i++)
        {
            if (names[i] is { } name)
            {
                text.Append(CultureInfo.InvariantCulture, $"{i} {name}\n");
            }
        }

        var temp = Path.Combine(maildir, $"{KeywordsFileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(Encoding.ASCII.GetBytes(text.ToString()));
                stream.Flush(flushToDisk: true);
            }

            if (File.Exists(path))
            {
                var previous = File.GetLastWriteTimeUtc(path);
                var previousSecond = previous.AddTicks(-(previous.Ticks % TimeSpan.TicksPerSecond));
                if (File.GetLastWriteTimeUtc(temp) < previousSecond.AddSeconds(1))
                {
                    File.SetLastWriteTimeUtc(temp, previousSecond.AddSeconds(1));
                }
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Takes Dovecot's uidlist dotlock (created exclusively, removed on dispose), waiting a while when Dovecot holds it.</summary>
    private static async Task<FileStream> LockAsync(string maildir, CancellationToken cancellationToken)
    {
        var path = Path.Combine(maildir, UidlistLockName);
        for (var attempt = 0; attempt < LockAttempts; attempt++)
        {
            try
            {
                return new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException) when (File.Exists(path))
            {
                await Task.Delay(LockWaitMilliseconds, cancellationToken).ConfigureAwait(false);
            }
        }

        throw new MailSourceException($"Maildir {maildir}: {UidlistLockName} is held by another process; the keyword is set on the next attempt");
    }

    private MailSourceException StillRenaming(SourceMessage message) =>
        new($"Maildir {_root}: {message.SourceKey} kept being renamed by another process; tried {Attempts} times");

    private static string Printable(string text) => new([.. text.Select(c => char.IsControl(c) ? '?' : c)]);

    private sealed record MaildirFile(string Key, string Name, string Path, long Timestamp, long Modified);
}
