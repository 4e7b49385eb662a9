using System.Text;

namespace RuleMail.Host.Transport;

/// <summary>
/// Maildir++ folder names as Dovecot keeps them: the IMAP folder <c>A/B</c> is the directory <c>.A.B</c> in the Maildir's
/// root, with non-ASCII in IMAP's modified UTF-7; <c>INBOX</c> is the root itself.
/// </summary>
internal static class MaildirFolderName
{
    /// <summary>
    /// The Maildir++ directory of an IMAP folder name (<c>A/B</c> → <c>.A.B</c>, non-ASCII in modified UTF-7 as
    /// Dovecot stores it), empty for <c>INBOX</c>, or null with the reason when the name cannot be a folder here.
    /// </summary>
    public static string? DirectoryOf(string folder, out string? problem)
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
    public static string EncodeModifiedUtf7(string name)
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

    private static string Printable(string text) => new([.. text.Select(c => char.IsControl(c) ? '?' : c)]);
}
