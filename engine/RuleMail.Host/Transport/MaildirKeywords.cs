using System.Globalization;
using System.Text;

namespace RuleMail.Host.Transport;

/// <summary>
/// Dovecot's Maildir keywords: each Maildir++ folder's <c>dovecot-keywords</c> maps the letters a to z to keyword names,
/// and a message carries a keyword as that letter in its file name's flags. A name is added under Dovecot's uidlist lock.
/// </summary>
internal static class MaildirKeywords
{
    /// <summary>Dovecot's map of keyword letters to names, in the Maildir's root.</summary>
    public const string FileName = "dovecot-keywords";

    /// <summary>Dovecot's lock for the uidlist; it also guards <c>dovecot-keywords</c>, so we take it to add a keyword.</summary>
    public const string UidlistLockName = "dovecot-uidlist.lock";

    /// <summary>Keywords are the letters a to z.</summary>
    public const int Max = 26;

    private const int LockWaitMilliseconds = 100;
    private const int LockAttempts = 100;
    private const string NotAtomChars = "()[]{}%*\"\\";

    /// <summary>Why <paramref name="keyword"/> cannot be an IMAP keyword (an atom), or null when it can.</summary>
    public static string? Problem(string keyword)
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
    /// The file name with its keyword letters translated from <paramref name="maildir"/>'s <c>dovecot-keywords</c> to <paramref name="target"/>'s.
    /// Letters without a name here (lost) are dropped, as are keywords the target has no room for.
    /// </summary>
    public static async Task<string> TranslateAsync(string maildir, string name, string target, CancellationToken cancellationToken)
    {
        var flags = MaildirFileName.FlagsOf(name);
        if (!flags.Any(IsLetter))
        {
            return name;
        }

        string?[] here;
        try
        {
            here = Read(Path.Combine(maildir, FileName));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MailSourceException($"Maildir {maildir}: cannot read {FileName}: {e.Message}", e);
        }

        var translated = new List<char>(flags.Where(c => !IsLetter(c)));
        foreach (var letter in flags.Where(IsLetter))
        {
            if (here[letter - 'a'] is { } keyword && await IndexAsync(target, keyword, cancellationToken).ConfigureAwait(false) is >= 0 and var index)
            {
                translated.Add((char)('a' + index));
            }
        }

        return MaildirFileName.WithFlags(name, translated);
    }

    private static bool IsLetter(char c) => c is >= 'a' and <= 'z';

    /// <summary>The keyword's index in the Maildir's <c>dovecot-keywords</c>, added when missing; -1 when all 26 are taken.</summary>
    public static async Task<int> IndexAsync(string maildir, string keyword, CancellationToken cancellationToken)
    {
        var path = Path.Combine(maildir, FileName);
        try
        {
            var index = Array.FindIndex(Read(path), name => string.Equals(name, keyword, StringComparison.OrdinalIgnoreCase));
            if (index >= 0)
            {
                return index;
            }

            var held = await LockAsync(maildir, cancellationToken).ConfigureAwait(false);
            await using (held.ConfigureAwait(false))
            {
                // Read again under the lock: Dovecot may have added keywords meanwhile.
                var names = Read(path);
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
                Write(maildir, names);
                return index;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MailSourceException($"Maildir {maildir}: cannot update {FileName}: {e.Message}", e);
        }
    }

    /// <summary>Dovecot's lines <c>N name</c>; lines it would skip are skipped.</summary>
    public static string?[] Read(string path)
    {
        var names = new string?[Max];
        if (!File.Exists(path))
        {
            return names;
        }

        foreach (var line in File.ReadLines(path))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && space < line.Length - 1
                && int.TryParse(line.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                && index < Max)
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
    private static void Write(string maildir, string?[] names)
    {
        var path = Path.Combine(maildir, FileName);
        var text = new StringBuilder();
        for (var i = 0; i < names.Length; i++)
        {
            if (names[i] is { } name)
            {
                text.Append(CultureInfo.InvariantCulture, $"{i} {name}\n");
            }
        }

        var temp = Path.Combine(maildir, $"{FileName}.{Guid.NewGuid():N}.tmp");
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

    private static string Printable(string text) => new([.. text.Select(c => char.IsControl(c) ? '?' : c)]);
}
