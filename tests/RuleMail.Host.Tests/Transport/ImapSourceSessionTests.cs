using System.Text;
using MailKit;
using MailKit.Security;
using Microsoft.Extensions.Logging.Abstractions;
using RuleMail.Host.Tests.Support;
using RuleMail.Host.Transport;

namespace RuleMail.Host.Tests.Transport;

/// <summary>
/// An IMAP session a cluster worker keeps open from one batch of claims to the next (<c>KeptMailbox</c>): refreshed, it
/// finds by UID a message delivered after its last command (which another session listed and queued meanwhile), and
/// it says so when the server has dropped it, so the worker logs in anew instead of taking queued mail for gone.
/// </summary>
public sealed class ImapSourceSessionTests
{
    private const string User = "kept";
    private const string Password = "kept-secret-R2d";

    [Fact]
    public async Task A_kept_session_refreshed_finds_a_message_delivered_after_its_last_command()
    {
        await using var dovecot = await DovecotServer.StartAsync((User, Password));
        await dovecot.AppendAsync(User, Password, Mail(1));
        await using var source = Source(dovecot);
        await source.ConnectAsync(CancellationToken.None);
        uint validity;
        using (var client = await dovecot.ConnectImapAsync(User, Password))
        {
            await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
            validity = client.Inbox.UidValidity;
            await client.DisconnectAsync(true);
        }

        var delivered = await dovecot.AppendAsync(User, Password, Mail(2)); // After the kept session's last command.

        Assert.True(await source.RefreshAsync(CancellationToken.None));
        using var copy = new MemoryStream();
        Assert.True(await source.CopyToAsync(new SourceMessage(ImapSource.Key(validity, delivered.Id), validity, delivered.Id), copy, CancellationToken.None),
            "the kept session did not find the message delivered since its last command");
        Assert.Contains("Subject: Message 2", Encoding.ASCII.GetString(copy.ToArray()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_session_the_server_dropped_is_not_refreshed_but_reported_gone()
    {
        await using var dovecot = await DovecotServer.StartAsync((User, Password));
        await using var source = Source(dovecot);
        await source.ConnectAsync(CancellationToken.None);
        Assert.True(await source.RefreshAsync(CancellationToken.None));

        await dovecot.RestartAsync(); // Every session ends; the new server listens on the same port.

        Assert.False(await source.RefreshAsync(CancellationToken.None));
        Assert.False(source.IsConnected);
    }

    private static ImapSource Source(DovecotServer dovecot) =>
        new(new ServerEndpoint("imap", dovecot.Host, dovecot.ImapPort, SecureSocketOptions.None, User, Password) { Timeout = TimeSpan.FromSeconds(20) },
            "support", "INBOX", NullLogger.Instance);

    private static byte[] Mail(int n) =>
        Encoding.ASCII.GetBytes($"Message-ID: <kept{n}@test>\r\nSubject: Message {n}\r\nFrom: a@test\r\nTo: b@test\r\n\r\nbody {n}\r\n");
}
