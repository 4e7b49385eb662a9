using System.Text;

namespace RuleMail.Crypto;

/// <summary>
/// A cleartext-signed OpenPGP block (RFC 4880 section 7): the text as a person reads it, the bytes the
/// signature covers (dash-escapes removed, trailing whitespace dropped, CRLF between lines, none after
/// the last), and the armored signature.
/// </summary>
internal sealed record ClearSignedText(string Text, byte[] SignedBytes, string SignatureArmor)
{
    private const string Begin = "-----BEGIN PGP SIGNED MESSAGE-----";
    private const string SignatureBegin = "-----BEGIN PGP SIGNATURE-----";
    private const string SignatureEnd = "-----END PGP SIGNATURE-----";

    /// <summary>Reads <paramref name="text"/> when it is one cleartext-signed block and nothing else but whitespace.</summary>
    public static ClearSignedText? TryParse(string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Trim().Split('\n');
        if (lines.Length < 4 || lines[0].TrimEnd() != Begin || lines[^1].TrimEnd() != SignatureEnd)
        {
            return null;
        }

        var index = 1;
        while (index < lines.Length && lines[index].Trim().Length > 0)
        {
            index++;
        }

        index++;
        var body = new List<string>();
        while (index < lines.Length && lines[index].TrimEnd() != SignatureBegin)
        {
            var line = lines[index];
            body.Add(line.StartsWith("- ", StringComparison.Ordinal) ? line[2..] : line);
            index++;
        }

        if (index >= lines.Length || lines.Skip(index + 1).Any(l => l.TrimEnd() == Begin || l.TrimEnd() == SignatureBegin))
        {
            return null;
        }

        var signed = string.Join("\r\n", body.Select(l => l.TrimEnd(' ', '\t', '\r')));
        var armor = string.Join("\n", lines[index..]) + "\n";
        return new ClearSignedText(string.Join("\n", body), Encoding.UTF8.GetBytes(signed), armor);
    }
}
