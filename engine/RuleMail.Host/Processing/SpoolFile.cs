namespace RuleMail.Host.Processing;

/// <summary>Where a raw message waits while it is judged: a temporary file only RuleMail can read, gone when closed.</summary>
internal static class SpoolFile
{
    /// <summary>A new, empty spool file in <paramref name="directory"/> (created when missing), deleted on close.</summary>
    public static FileStream Create(string directory)
    {
        Directory.CreateDirectory(directory);
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            BufferSize = 81920,
            Options = FileOptions.DeleteOnClose | FileOptions.Asynchronous,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // Raw mail: readable by RuleMail only.
        }

        return new FileStream(Path.Combine(directory, $"{Guid.NewGuid():N}.eml"), options);
    }
}
