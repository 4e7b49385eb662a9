using RuleMail.Host.State;

namespace RuleMail.Host.Transport;

// A message wherever it is now in the Maildir (what a retry reads and acts on): the root (INBOX) or a Maildir++ folder,
// by its unique name, which no rename changes. As everywhere here, files are only ever renamed.
internal sealed partial class MaildirSource
{
    public Task<bool> CopyToAsync(MessageLocation location, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(location);
        return CopyAsync(() => LocateAt(location, out _), () => StillRenaming(location), destination, cancellationToken);
    }

    /// <summary>Nothing to find: a Maildir message keeps its unique name wherever it is moved.</summary>
    public Task<IReadOnlyList<MessageLocation>> FindAsync(string folder, string messageId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<MessageLocation>>([]);

    /// <summary>Sets a Dovecot Maildir keyword on the message where it is (see <see cref="AddKeywordAsync(SourceMessage, string, CancellationToken)"/>).</summary>
    public async Task<SourceActionResult> AddKeywordAsync(MessageLocation location, string keyword, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(keyword);
        if (MaildirKeywords.Problem(keyword) is { } problem)
        {
            return SourceActionResult.Unsupported(problem);
        }

        if (LocateAt(location, out var folder) is null)
        {
            return SourceActionResult.Gone;
        }

        var index = await MaildirKeywords.IndexAsync(folder!, keyword, cancellationToken).ConfigureAwait(false);
        if (index < 0)
        {
            return SourceActionResult.Unsupported(
                $"the Maildir folder {folder} already has {MaildirKeywords.Max} keywords, the most Dovecot's Maildir keywords allow; '{keyword}' was not set");
        }

        var letter = (char)('a' + index);
        return await RenameAsync(location, name => MaildirFileName.FlagsOf(name).Contains(letter, StringComparison.Ordinal) ? null : MaildirFileName.WithFlag(name, letter)).ConfigureAwait(false);
    }

    /// <summary>Takes a Dovecot Maildir keyword's letter out of the file name's flags; done when it was not set.</summary>
    public async Task<SourceActionResult> RemoveKeywordAsync(MessageLocation location, string keyword, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(keyword);
        if (LocateAt(location, out var folder) is null)
        {
            return SourceActionResult.Gone;
        }

        string?[] names;
        try
        {
            names = MaildirKeywords.Read(Path.Combine(folder!, MaildirKeywords.FileName));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MailSourceException($"Maildir {folder}: cannot read {MaildirKeywords.FileName}: {e.Message}", e);
        }

        var index = Array.FindIndex(names, name => string.Equals(name, keyword, StringComparison.OrdinalIgnoreCase));
        if (index < 0)
        {
            return SourceActionResult.Ok; // The folder has no letter for it, so no message there carries it.
        }

        var letter = (char)('a' + index);
        return await RenameAsync(location, name => MaildirFileName.FlagsOf(name).Contains(letter, StringComparison.Ordinal)
            ? MaildirFileName.WithFlags(name, MaildirFileName.FlagsOf(name).Where(c => c != letter))
            : null).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves the file, by rename only and keeping its unique name, from the folder it is in to <paramref name="folder"/>
    /// (the root for <c>INBOX</c>), as <see cref="MoveAsync(SourceMessage, string, CancellationToken)"/> does from the root.
    /// </summary>
    public async Task<SourceActionResult> MoveAsync(MessageLocation location, string folder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(folder);
        var directory = MaildirFolderName.DirectoryOf(folder, out var problem);
        if (directory is null)
        {
            return SourceActionResult.Unsupported(problem!);
        }

        var target = directory.Length == 0 ? _root : Path.Combine(_root, directory);
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            if (LocateAt(location, out var from) is not { } path)
            {
                // Moved on an earlier attempt whose result was not recorded: that is done, not gone.
                return location.Key is { } key && Find(target, key) is not null ? Moved(folder, key) : SourceActionResult.Gone;
            }

            if (string.Equals(from, target, StringComparison.Ordinal))
            {
                return Moved(folder, location.Key!);
            }

            if (directory.Length > 0)
            {
                CreateFolder(target); // Never for the root: a maildirfolder marker there would make it a subfolder.
            }

            var subfolder = Path.GetFileName(Path.GetDirectoryName(path))!;
            var name = await MaildirKeywords.TranslateAsync(from!, Path.GetFileName(path), target, cancellationToken).ConfigureAwait(false);
            if (TryRename(path, Path.Combine(target, subfolder, name)))
            {
                return Moved(folder, location.Key!);
            }
        }

        throw StillRenaming(location);
    }

    /// <summary>A done move: the message is in <paramref name="folder"/> under the unique name it always had.</summary>
    private static SourceActionResult Moved(string folder, string key) => SourceActionResult.Ok with { Location = new MessageLocation(folder, key) };

    /// <summary>The file of the message at <paramref name="location"/>, and the Maildir folder holding it; null when it is not there.</summary>
    private string? LocateAt(MessageLocation location, out string? folder)
    {
        folder = null;
        if (location.Key is not { } key || MaildirFolderName.DirectoryOf(location.Folder, out _) is not { } directory)
        {
            return null;
        }

        folder = directory.Length == 0 ? _root : Path.Combine(_root, directory);
        try
        {
            return Find(folder, key);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MailSourceException($"Maildir {_root}: cannot look for {key} in {location.Folder}: {e.Message}", e);
        }
    }

    /// <summary>Renames the message's file to what <paramref name="rename"/> makes of its name, in <c>cur/</c> (it has flags); null means nothing to do.</summary>
    private Task<SourceActionResult> RenameAsync(MessageLocation location, Func<string, string?> rename)
    {
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            if (LocateAt(location, out var folder) is not { } path)
            {
                return Task.FromResult(SourceActionResult.Gone);
            }

            if (rename(Path.GetFileName(path)) is not { } name)
            {
                return Task.FromResult(SourceActionResult.Ok);
            }

            if (TryRename(path, Path.Combine(folder!, "cur", name)))
            {
                return Task.FromResult(SourceActionResult.Ok);
            }
        }

        throw StillRenaming(location);
    }

    private MailSourceException StillRenaming(MessageLocation location) =>
        new($"Maildir {_root}: {location.Key} in {location.Folder} kept being renamed by another process; tried {Attempts} times");
}
