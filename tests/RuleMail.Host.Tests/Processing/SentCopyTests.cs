using MailKit;
using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Processing;

/// <summary><c>send.sent_folder</c>: each sent message is kept, as sent (encrypted), in the account's IMAP Sent folder, once.</summary>
public sealed class SentCopyTests : IAsyncLifetime
{
    private const string User = "support";
    private const string Password = "imap-secret";
    private readonly HostHarness _harness = HostHarness.Create();
    private DovecotServer _dovecot = null!;
    private SmtpSink _smtp = null!;

    public async Task InitializeAsync()
    {
        _dovecot = await DovecotServer.StartAsync((User, Password));
        _smtp = await SmtpSink.StartAsync();
        var account = _harness.ImapAccount(_dovecot, User, Password);
        account.Send = new SendConfig
        {
            Outbox = _harness.Folder.File("outbox"),
            Smtp = new ServerConfig { Host = _smtp.Host, Port = _smtp.Port, Security = "none" },
            SentFolder = "Sent",
        };
        Directory.CreateDirectory(account.Send.Outbox);
    }

    public async Task DisposeAsync()
    {
        await _smtp.DisposeAsync();
        await _dovecot.DisposeAsync();
        _harness.Dispose();
    }

    [Fact]
    public async Task The_sent_folder_gets_one_read_copy_of_the_encrypted_message()
    {
        File.WriteAllText(Path.Combine(_harness.Folder.File("outbox"), "reply.eml"),
            OutboxFolder.Mail("alice@customer.test", "Your order", "It ships today.", "reply-1@rulemail.test"));

        var first = await _harness.SendOnceAsync();
        var second = await _harness.SendOnceAsync();

        var sent = Assert.Single(first.Messages);
        Assert.Equal(OutboxState.Sent, sent.State);
        Assert.EndsWith("; copy in Sent", sent.Reason ?? string.Empty, StringComparison.Ordinal);
        Assert.Empty(second.Messages);
        Assert.Single(_smtp.Messages);
        var copy = Assert.Single(await _dovecot.ListAsync(User, Password, "Sent"));
        Assert.True(copy.Flags.HasFlag(MessageFlags.Seen));
        Assert.Equal("reply-1@rulemail.test", copy.MessageId);
        var stored = await _dovecot.GetMessageAsync(User, Password, copy.Uid, "Sent");
        Assert.Equal("application/pkcs7-mime", stored.Body!.ContentType.MimeType);
    }
}
