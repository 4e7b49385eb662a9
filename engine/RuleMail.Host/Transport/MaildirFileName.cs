using System.Globalization;

namespace RuleMail.Host.Transport;

/// <summary>
/// The parts of a Maildir file name: the unique name (the key, up to the first <c>:</c>), which stays the same when flags
/// change, and the <c>:2,FLAGS</c> info, uppercase standard flags and Dovecot's keyword letters, sorted as Dovecot writes them.
/// </summary>
internal static class MaildirFileName
{
    private const string InfoFlags = ":2,";

    /// <summary>The unique name of a Maildir file: its name up to the first <c>:</c> (where the <c>:2,FLAGS</c> info begins).</summary>
    public static string KeyOf(string fileName)
    {
        var colon = fileName.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? fileName : fileName[..colon];
    }

    /// <summary>The flag letters of a file name's <c>:2,</c> info (empty when it has none).</summary>
    public static string FlagsOf(string fileName)
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
    public static string WithFlag(string fileName, char flag) => WithFlags(fileName, FlagsOf(fileName) + flag);

    /// <summary>
    /// The file name with <paramref name="flags"/> as its <c>:2,</c> flags, sorted by ASCII code (uppercase standard
    /// flags first, then keyword letters) as Dovecot writes them; anything after a further <c>,</c> is kept. Other
    /// info (<c>:1,…</c>) is replaced.
    /// </summary>
    public static string WithFlags(string fileName, IEnumerable<char> flags)
    {
        var key = KeyOf(fileName);
        var rest = fileName.AsSpan(key.Length).StartsWith(InfoFlags, StringComparison.Ordinal)
            ? fileName[(key.Length + InfoFlags.Length + FlagsOf(fileName).Length)..]
            : "";
        return key + InfoFlags + new string([.. flags.Distinct().Order()]) + rest;
    }

    /// <summary>The delivery time in Unix seconds: the unique name's leading <c>seconds.</c>, else the file's mtime.</summary>
    public static long TimestampOf(string name, DateTime modifiedUtc)
    {
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && long.TryParse(name.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? seconds
            : new DateTimeOffset(modifiedUtc, TimeSpan.Zero).ToUnixTimeSeconds();
    }
}
