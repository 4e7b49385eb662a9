using System.Security.Cryptography;
using System.Text;
using RuleMail.Application;

namespace RuleMail.Host.Transport;

/// <summary>
/// Writes finished messages into a pickup folder (for an MTA or ticket system to collect), one file per copy. The file
/// name comes from the Message-ID and the copy's <see cref="OutgoingCopy.Key"/>, so the copies of one message do not
/// overwrite each other; each file is written under a temporary name and renamed, so a copy is there whole or not at
/// all, and writing it again replaces rather than doubles it.
/// </summary>
/// <remarks>
/// The envelope comes first, as the IIS/Exchange pickup format writes it: an <c>X-Sender:</c> line (the sender) and one
/// <c>X-Receiver:</c> line per envelope recipient (<see cref="OutgoingCopy.Recipients"/>), then the message as it is.
/// A collector must deliver to the <c>X-Receiver</c>s: one that reads To/Cc/Bcc instead (<c>sendmail -t</c>) would
/// hand a Bcc recipient's copy to the To/Cc recipients too.
/// </remarks>
internal sealed class PickupTransport(string folder) : IMailTransport
{
    /// <summary>CRLF throughout, as the envelope lines and the pickup format have it.</summary>
    private static readonly MimeKit.FormatOptions Crlf = CreateCrlf();

    public string Describe => $"pickup {folder}";

    private static MimeKit.FormatOptions CreateCrlf()
    {
        var options = MimeKit.FormatOptions.Default.Clone();
        options.NewLineFormat = MimeKit.NewLineFormat.Dos;
        return options;
    }

    public async Task SendAsync(OutgoingCopy copy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(copy);
        Directory.CreateDirectory(folder);
        var target = PathFor(copy);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
            {
                await file.WriteAsync(Envelope(copy), cancellationToken).ConfigureAwait(false);
                await copy.Message.WriteToAsync(Crlf, file, cancellationToken).ConfigureAwait(false);
                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(temporary);
            throw new MailSourceException($"{Describe}: cannot write {Path.GetFileName(target)}: {e.Message}", e);
        }
    }

    public bool AlreadyDelivered(OutgoingCopy copy)
    {
        ArgumentNullException.ThrowIfNull(copy);
        return File.Exists(PathFor(copy));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>The <c>X-Sender</c> and <c>X-Receiver</c> lines; addresses are normalized, so they hold no line break.</summary>
    private static byte[] Envelope(OutgoingCopy copy)
    {
        if (copy.Recipients.Count == 0)
        {
            throw new InvalidOperationException("a copy needs at least one envelope recipient");
        }

        var sender = copy.Message.Sender?.Address ?? copy.Message.From.Mailboxes.FirstOrDefault()?.Address;
        var lines = new StringBuilder();
        lines.Append("X-Sender: <").Append(Keys.MailAddresses.Normalize(sender) ?? string.Empty).Append(">\r\n");
        foreach (var recipient in copy.Recipients)
        {
            lines.Append("X-Receiver: <").Append(Keys.MailAddresses.Normalize(recipient) ?? throw new InvalidOperationException($"not an envelope address: {recipient}")).Append(">\r\n");
        }

        return Encoding.UTF8.GetBytes(lines.ToString());
    }

    /// <summary>
    /// A file name safe on every file system: <c>HASH.eml</c> for the To/Cc copy (the name a message always had here,
    /// so a send interrupted before an upgrade is still recognised) and <c>HASH.bcc-KEYHASH.eml</c> for a Bcc copy,
    /// where HASH comes from the Message-ID and KEYHASH from the copy's key (an address may hold any character).
    /// </summary>
    private string PathFor(OutgoingCopy copy)
    {
        var messageId = copy.Message.MessageId ?? throw new InvalidOperationException("a message needs a Message-ID before it is sent");
        var name = Hash(messageId, 32);
        return Path.Combine(folder, copy.BccRecipient is null ? $"{name}.eml" : $"{name}.bcc-{Hash(copy.Key, 16)}.eml");
    }

    private static string Hash(string text, int length) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..length];
}
