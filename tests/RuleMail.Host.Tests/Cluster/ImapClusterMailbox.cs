using MailKit;
using MimeKit;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Cluster;

/// <summary>One Dovecot mailbox, fetched over IMAP (no TLS on loopback); messages are appended in one IMAP session.</summary>
internal sealed class ImapClusterMailbox(DovecotServer dovecot) : ClusterMailbox
{
    public DovecotServer Dovecot { get; } = dovecot;

    public override string FetchYaml => $"""
              imap:
                host: {Dovecot.Host}
                port: {Dovecot.ImapPort}
                security: none
                user: {ClusterNodes.User}
                password_env: SUPPORT_PASSWORD
        """;

    public static async Task<ImapClusterMailbox> StartAsync() => new(await DovecotServer.StartAsync((ClusterNodes.User, ClusterNodes.Password)));

    public override async Task DeliverAsync(IReadOnlyList<MimeMessage> messages)
    {
        using var client = await Dovecot.ConnectImapAsync(ClusterNodes.User, ClusterNodes.Password);
        foreach (var message in messages)
        {
            await client.Inbox.AppendAsync(new AppendRequest(message));
        }

        await client.DisconnectAsync(true);
    }

    public override async Task<IReadOnlyList<Stored>> ListAsync(string folder) =>
        [.. (await Dovecot.ListAsync(ClusterNodes.User, ClusterNodes.Password, folder)).Select(m => new Stored(m.MessageId, m.Keywords))];

    public override ValueTask DisposeAsync() => Dovecot.DisposeAsync();
}
