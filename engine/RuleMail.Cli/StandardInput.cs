namespace RuleMail.Cli;

/// <summary>
/// A message read from the standard input (<c>rulemail check -</c>), kept in a file of its own while it is used: the
/// analysis reads a message more than once and may keep reading it, and a pipe can be read only once. The file lives in
/// a folder made for this user alone (0700) under a name no one can guess, and goes when the command ends — the same
/// bytes a file argument would give, without holding a large message in memory.
/// </summary>
internal sealed class StandardInput : IDisposable
{
    private readonly string _folder;
    private readonly string _file;

    private StandardInput(string folder, string file)
    {
        _folder = folder;
        _file = file;
    }

    /// <exception cref="RuleMailException">The standard input cannot be read or spooled.</exception>
    public static StandardInput Spool(CliConsole console)
    {
        ArgumentNullException.ThrowIfNull(console);
        var folder = Directory.CreateTempSubdirectory("rulemail-stdin-").FullName;
        var file = Path.Combine(folder, "message.eml");
        try
        {
            using var input = console.OpenInput();
            using var copy = new FileStream(file, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920);
            input.CopyTo(copy);
            return new StandardInput(folder, file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Delete(folder);
            throw new RuleMailException($"the standard input: cannot read the message: {e.Message.TrimEnd('.')}", e);
        }
    }

    /// <summary>The spooled message, from its start.</summary>
    public FileStream Open() => new(_file, FileMode.Open, FileAccess.Read, FileShare.Read, 81920);

    public void Dispose() => Delete(_folder);

    private static void Delete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leftover temp folder of this user's harms nothing; the command's answer matters more.
        }
    }
}
