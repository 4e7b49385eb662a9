using System.Security.Cryptography;
using System.Text;
using MimeKit;

namespace RuleMail.Host.Transport;

/// <summary>
/// Writes finished messages into a pickup folder (for an MTA or ticket system to collect). The file name comes
/// from the Message-ID, and each file is written under a temporary name and renamed, so a message is there
/// whole or not at all, and writing it again replaces rather than doubles it.
/// </summary>
public sealed class PickupTransport(string folder) : IMailTransport
{
    public string Describe => $"pickup {folder}";

    public async Task SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        Directory.CreateDirectory(folder);
        var target = PathFor(message.MessageId ?? throw new InvalidOperationException("a message needs a Message-ID before it is sent"));
        var temporary = Path.Combine(folder, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
            {
                await message.WriteToAsync(file, cancellationToken).ConfigureAwait(false);
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

    public bool AlreadyDelivered(string messageId) => File.Exists(PathFor(messageId));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>A file name safe on every file system, unique per Message-ID.</summary>
    private string PathFor(string messageId)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(messageId)))[..32];
        return Path.Combine(folder, $"{hash}.eml");
    }
}
