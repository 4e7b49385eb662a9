using MimeKit;
using RuleMail.Keys;

namespace RuleMail.Crypto;

/// <summary>
/// The addresses whose private keys are tried first when decrypting: To, Cc, Delivered-To (Bcc
/// recipients show only there) and the account's own address; then every other private key.
/// </summary>
internal static class RecipientOrder
{
    public static IReadOnlyList<string> Preferred(MimeMessage message, string? accountAddress)
    {
        var addresses = new List<string>();
        void Add(string? text)
        {
            var normalized = MailAddresses.Normalize(text);
            if (normalized is not null && !addresses.Contains(normalized))
            {
                addresses.Add(normalized);
            }
        }

        foreach (var mailbox in message.To.Mailboxes.Concat(message.Cc.Mailboxes))
        {
            Add(mailbox.Address);
        }

        foreach (var header in message.Headers.Where(h => h.Field.Equals("Delivered-To", StringComparison.OrdinalIgnoreCase)))
        {
            Add(header.Value);
        }

        Add(accountAddress);
        return addresses;
    }

    /// <summary>The senders a signature must name: the From addresses (lower-case).</summary>
    public static IReadOnlyList<string> Senders(MimeMessage message) =>
        [.. message.From.Mailboxes.Select(m => MailAddresses.Normalize(m.Address)).OfType<string>().Distinct()];
}
