namespace RuleMail.Crypto;

/// <summary>
/// A temporary file for content too large to hold in memory: the decoded CMS of a large S/MIME part, or the plaintext
/// decrypted from it. Decrypted plaintext is sensitive, so the file is readable by this user only (0600) and, on Unix,
/// has no name from the moment it is made: it is unlinked right after it is opened, so only the open handle reaches it
/// and a process that is killed leaves nothing behind (.NET's <see cref="FileOptions.DeleteOnClose"/> unlinks only when
/// the handle is disposed; it stays for Windows, which cannot unlink an open file).
/// </summary>
/// <remarks>Not thread-safe: one message's analysis owns it.</remarks>
internal sealed class Spool : IDisposable
{
    private Spool(FileStream stream) => Stream = stream;

    /// <summary>The file, open for reading and writing, positioned at its start when created.</summary>
    public FileStream Stream { get; }

    /// <summary>Creates an empty spool file in the system's temporary folder (the host's spool folder is its own).</summary>
    public static Spool Create()
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            Options = FileOptions.DeleteOnClose,
            BufferSize = 64 * 1024,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // Plaintext: readable by RuleMail only.
        }

        var path = Path.Combine(Path.GetTempPath(), $"rulemail-{Guid.NewGuid():N}.spool");
        var stream = new FileStream(path, options);
        if (!OperatingSystem.IsWindows())
        {
            try
            {
                File.Delete(path);
            }
            catch
            {
                stream.Dispose();
                throw;
            }
        }

        return new Spool(stream);
    }

    /// <summary>Empties the file, for another attempt to write it.</summary>
    public void Clear()
    {
        Stream.SetLength(0);
        Stream.Position = 0;
    }

    /// <summary>Closes and deletes the file.</summary>
    public void Dispose() => Stream.Dispose();

    /// <summary>Closes and deletes every file of <paramref name="spools"/> (disposing one twice does nothing).</summary>
    public static void DisposeAll(IEnumerable<Spool> spools)
    {
        ArgumentNullException.ThrowIfNull(spools);
        foreach (var spool in spools)
        {
            spool.Dispose();
        }
    }
}
