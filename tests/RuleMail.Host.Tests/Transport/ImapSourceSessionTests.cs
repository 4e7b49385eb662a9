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

    [Fact]
    public async Task A_message_expunged_by_another_session_or_never_there_is_reported_gone_and_the_others_are_read()
    {
        await using var dovecot = await DovecotServer.StartAsync((User, Password));
        var first = await dovecot.AppendAsync(User, Password, Mail(1));
        var second = await dovecot.AppendAsync(User, Password, Mail(2));
        await using var source = Source(dovecot);
        await source.ConnectAsync(CancellationToken.None);
        using (var client = await dovecot.ConnectImapAsync(User, Password))
        {
            await client.Inbox.OpenAsync(FolderAccess.ReadWrite);
            await client.Inbox.AddFlagsAsync(first, MessageFlags.Deleted, silent: true);
            await client.Inbox.ExpungeAsync();
            await client.DisconnectAsync(true);
        }

        Assert.True(await source.RefreshAsync(CancellationToken.None)); // The session hears of the expunge (until then Dovecot still serves the message).
        using var sink = new MemoryStream();
        var expunged = await source.CopyToAsync(new SourceMessage(ImapSource.Key(first.Validity, first.Id), first.Validity, first.Id), sink, CancellationToken.None);
        var never = await source.CopyToAsync(new SourceMessage(ImapSource.Key(first.Validity, 999), first.Validity, 999), sink, CancellationToken.None);
        var read = await source.CopyToAsync(new SourceMessage(ImapSource.Key(second.Validity, second.Id), second.Validity, second.Id), sink, CancellationToken.None);

        Assert.False(expunged, "a message expunged by another session was read");
        Assert.False(never, "a UID never in the folder was read");
        Assert.True(read);
        Assert.Contains("Subject: Message 2", Encoding.ASCII.GetString(sink.ToArray()), StringComparison.Ordinal);
        Assert.DoesNotContain("Subject: Message 1", Encoding.ASCII.GetString(sink.ToArray()), StringComparison.Ordinal);
    }

    private static ImapSource Source(DovecotServer dovecot) =>
        new(new ServerEndpoint("imap", dovecot.Host, dovecot.ImapPort, SecureSocketOptions.None, User, Password) { Timeout = TimeSpan.FromSeconds(20) },
            "support", "INBOX", NullLogger.Instance);

    private static byte[] Mail(int n) =>
        Encoding.ASCII.GetBytes($"Message-ID: <kept{n}@test>\r\nSubject: Message {n}\r\nFrom: a@test\r\nTo: b@test\r\n\r\nbody {n}\r\n");
}
