using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace RuleMail.Host.State;

/// <summary>
/// The HTTP API's id of a ledger entry: base64url (no padding) of its account, folder and source key, UTF-8, each
/// ended by a NUL. Stable (the same entry always has the same id) and opaque to callers, it needs no lookup table; it
/// is only ever decoded back to the three values and compared with the ledger through parameters, never used as a
/// path or put into SQL text.
/// </summary>
public static class LedgerId
{
    /// <summary>Longer ids are refused before decoding (account names, folders and keys are short).</summary>
    public const int MaxLength = 2048;

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The id of the entry with this account, folder and source key.</summary>
    /// <exception cref="ArgumentException">A value is empty or holds a NUL.</exception>
    public static string Format(string account, string folder, string sourceKey)
    {
        foreach (var (name, value) in new[] { (nameof(account), account), (nameof(folder), folder), (nameof(sourceKey), sourceKey) })
        {
            ArgumentException.ThrowIfNullOrEmpty(value, name);
            if (value.Contains('\0', StringComparison.Ordinal))
            {
                throw new ArgumentException("a ledger identity never holds a NUL", name);
            }
        }

        return Base64Url.EncodeToString(Strict.GetBytes($"{account}\0{folder}\0{sourceKey}\0"));
    }

    /// <summary>The id of <paramref name="entry"/>.</summary>
    public static string Of(LedgerEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return Format(entry.Account, entry.Folder, entry.SourceKey);
    }

    /// <summary>
    /// The account, folder and source key of an id; false for anything <see cref="Format"/> does not make (not base64url,
    /// padded, not UTF-8, not three non-empty values, too long), so one entry has exactly one id.
    /// </summary>
    public static bool TryParse(
        string? id,
        [NotNullWhen(true)] out string? account,
        [NotNullWhen(true)] out string? folder,
        [NotNullWhen(true)] out string? sourceKey)
    {
        account = folder = sourceKey = null;
        if (string.IsNullOrEmpty(id) || id.Length > MaxLength || !Base64Url.IsValid(id) || id.Contains('=', StringComparison.Ordinal))
        {
            return false;
        }

        string text;
        try
        {
            text = Strict.GetString(Base64Url.DecodeFromChars(id));
        }
        catch (Exception e) when (e is FormatException or DecoderFallbackException)
        {
            return false;
        }

        var parts = text.Split('\0');
        if (parts.Length != 4 || parts[3].Length != 0 || parts[..3].Any(p => p.Length == 0))
        {
            return false;
        }

        // Only the canonical spelling: base64url has more than one for some byte strings (unused trailing bits).
        if (!string.Equals(Format(parts[0], parts[1], parts[2]), id, StringComparison.Ordinal))
        {
            return false;
        }

        (account, folder, sourceKey) = (parts[0], parts[1], parts[2]);
        return true;
    }
}
