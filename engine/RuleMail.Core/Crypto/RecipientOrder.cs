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
        // Linear in the recipients: a message may name 100,000 of them.
        var addresses = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Add(string? text)
        {
            var normalized = MailAddresses.Normalize(text);
            if (normalized is not null && seen.Add(normalized))
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
}
