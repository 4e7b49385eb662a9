using RuleMail.Host.State;

namespace RuleMail.Host.Transport;

/// <summary>
/// A Maildir's root folder (<c>INBOX</c>), laid out the way Dovecot keeps it: messages are the files in
/// <c>new/</c> and <c>cur/</c>, keyed by their unique name (the file name before <c>:2,</c>, which stays the same
/// when flags change). Keywords are Dovecot's Maildir keywords (<c>dovecot-keywords</c> plus a letter in the
/// file name's flags) and folders are Maildir++ (<c>Quarantine</c> is <c>.Quarantine/</c>, <c>A/B</c> is <c>.A.B/</c>),
/// so an IMAP server serving the same Maildir shows both. Files are only ever renamed, never copied and deleted.
/// This class lists, reads and moves the files; <see cref="MaildirFileName"/>, <see cref="MaildirFolderName"/> and
/// <see cref="MaildirKeywords"/> know the names and the keyword file.
/// </summary>
/// <remarks>
/// Other processes work on the same files meanwhile: a mail client or Dovecot changing flags, and in a cluster the
/// workers of every node, each on the messages it has claimed, beside the node listing the folder. A message is found
/// by its unique name wherever its flags have taken it (<c>new/</c> or <c>cur/</c>, any <c>:2,</c> suffix); a file
/// renamed between being found and being opened or renamed is looked for again, and one missing from a reading of the
/// folder is looked for once more before it counts as gone (a reading of a directory need not show an entry renamed
/// while it runs). rename(2) is atomic, so of two processes renaming one file only one succeeds and the file is never lost.
/// </remarks>
/// <param name="root">The Maildir (the folder holding <c>cur/</c>, <c>new/</c> and <c>tmp/</c>).</param>
/// <param name="account">The account the ledger files this Maildir's messages under.</param>
internal sealed partial class MaildirSource(string root, string account) : IMailSource
{
    // A message renamed (a flag change by a mail client) between finding and using it is found again; this many times.
    private const int Attempts = 5;

    private readonly string _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));

    public string Folder => "INBOX";

    /// <summary>True: a unique name holds through every rename, so any node finds the file by it (on storage every node mounts at the same path).</summary>
    public bool FetchesByKey => true;

    /// <summary>
    /// A test seam, null in production: called after each look for a message's file with its unique name and the path
    /// found (null when none), so a test can rename or remove the file at that moment, as another process might.
    /// </summary>
    internal Action<string, string?>? Looked { get; init; }

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
        if (dueKeys.Any(key => !files.ContainsKey(key)))
        {
            // A due message not listed counts as gone (its plan's keywords and move are skipped), and a file renamed while
            // the folder was read may be missing from that reading: read it once more for those.
            foreach (var (key, file) in Scan())
            {
                if (dueKeys.Contains(key))
                {
                    files.TryAdd(key, file);
                }
            }
        }
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

    public Task<bool> CopyToAsync(SourceMessage message, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return CopyAsync(() => Locate(message), () => StillRenaming(message), destination, cancellationToken);
    }

    /// <summary>
    /// Copies the file <paramref name="locate"/> finds to <paramref name="destination"/>; false when it finds none. A file
    /// renamed by a flag change between finding and opening it is looked for again, <see cref="Attempts"/> times.
    /// </summary>
    private async Task<bool> CopyAsync(Func<string?> locate, Func<MailSourceException> stillRenaming, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            if (locate() is not { } path)
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

        throw stillRenaming();
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
        if (MaildirKeywords.Problem(keyword) is { } problem)
        {
            return SourceActionResult.Unsupported(problem);
        }

        if (Locate(message) is null)
        {
            return SourceActionResult.Gone;
        }

        var index = await MaildirKeywords.IndexAsync(_root, keyword, cancellationToken).ConfigureAwait(false);
        if (index < 0)
        {
            return SourceActionResult.Unsupported(
                $"the Maildir {_root} already has {MaildirKeywords.Max} keywords, the most Dovecot's Maildir keywords allow; '{keyword}' was not set");
        }

        var letter = (char)('a' + index);
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            if (Locate(message) is not { } path)
            {
                return SourceActionResult.Gone;
            }

            var name = Path.GetFileName(path);
            if (MaildirFileName.FlagsOf(name).Contains(letter, StringComparison.Ordinal))
            {
                return SourceActionResult.Ok;
            }

            if (TryRename(path, Path.Combine(Subfolder("cur"), MaildirFileName.WithFlag(name, letter))))
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
        var directory = MaildirFolderName.DirectoryOf(folder, out var problem);
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
            var name = await MaildirKeywords.TranslateAsync(_root, Path.GetFileName(path), target, cancellationToken).ConfigureAwait(false);
            if (TryRename(path, Path.Combine(target, subfolder, name)))
            {
                return Moved(folder, message.SourceKey);
            }
        }

        throw StillRenaming(message);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

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
                    var key = MaildirFileName.KeyOf(file.Name);
                    if (file.Name.StartsWith('.') || key.Length == 0)
                    {
                        continue;
                    }

                    var modified = file.LastWriteTimeUtc;
                    files[key] = new MaildirFile(key, file.Name, file.FullName, MaildirFileName.TimestampOf(file.Name, modified), modified.Ticks);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MailSourceException($"Maildir {_root}: cannot list the messages: {e.Message}", e);
        }

        return files;
    }

    /// <summary>
    /// Where the message is now in the root: its listed path while that still holds it, else found again by unique name
    /// (a queued message comes with its name only).
    /// </summary>
    private string? Locate(SourceMessage message)
    {
        if (message.Location is { } location
            && string.Equals(MaildirFileName.KeyOf(Path.GetFileName(location)), message.SourceKey, StringComparison.Ordinal)
            && Path.GetDirectoryName(location) is { } folder
            && (string.Equals(folder, Subfolder("new"), StringComparison.Ordinal) || string.Equals(folder, Subfolder("cur"), StringComparison.Ordinal))
            && File.Exists(location))
        {
            Looked?.Invoke(message.SourceKey, location);
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

    /// <summary>
    /// The file of the message named <paramref name="key"/> in the Maildir folder <paramref name="maildir"/>, whatever its
    /// flags; null when it is not there. A miss is looked at once more: readdir(3) need not show an entry renamed while it
    /// runs (POSIX leaves it unspecified), so a flag change by another process at that moment would otherwise make the
    /// message look gone.
    /// </summary>
    private string? Find(string maildir, string key) => Look(maildir, key) ?? Look(maildir, key);

    private string? Look(string maildir, string key)
    {
        var found = Guess(maildir, key) ?? Search(maildir, key);
        Looked?.Invoke(key, found);
        return found;
    }

    /// <summary>Reads <c>new/</c>, then <c>cur/</c> (the way a file moves, so a move between the two is not missed), for the file named <paramref name="key"/>.</summary>
    private static string? Search(string maildir, string key)
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
                if (string.Equals(MaildirFileName.KeyOf(Path.GetFileName(path)), key, StringComparison.Ordinal))
                {
                    return path;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// The file when it has one of the names most messages have (delivered and not yet seen: <c>new/KEY</c>; seen:
    /// <c>cur/KEY:2,S</c> or <c>cur/KEY:2,</c>), found without reading the folder, which a queued message would otherwise
    /// cost each time in a big Maildir; null otherwise.
    /// </summary>
    private static string? Guess(string maildir, string key)
    {
        if (key.Length == 0 || key[0] == '.' || key.AsSpan().IndexOfAny('/', ':', '\0') >= 0)
        {
            return null;
        }

        foreach (var path in new[] { Path.Combine(maildir, "new", key), Path.Combine(maildir, "cur", key + ":2,S"), Path.Combine(maildir, "cur", key + ":2,") })
        {
            if (File.Exists(path))
            {
                return path;
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

    private MailSourceException StillRenaming(SourceMessage message) =>
        new($"Maildir {_root}: {message.SourceKey} kept being renamed by another process; tried {Attempts} times");


    private sealed record MaildirFile(string Key, string Name, string Path, long Timestamp, long Modified);
}
