using MimeKit;

namespace RuleMail.Keys;

/// <summary>How the key store compares e-mail addresses: trimmed, lower-case, parsed by MimeKit.</summary>
public static class MailAddresses
{
    /// <summary>The lower-case address of <paramref name="text"/> ("Name &lt;a@b&gt;" or "a@b"), or null when it holds none.</summary>
    public static string? Normalize(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var trimmed = text.Trim();
        if (MailboxAddress.TryParse(ParserOptions.Default, trimmed, out var mailbox) && mailbox.Address.Contains('@', StringComparison.Ordinal))
        {
            return mailbox.Address.ToLowerInvariant();
        }

        return null;
    }

    /// <summary>The lower-case domain of a normalized address.</summary>
    public static string Domain(string address)
    {
        var at = address.LastIndexOf('@');
        return at < 0 ? string.Empty : address[(at + 1)..].ToLowerInvariant();
    }
}
