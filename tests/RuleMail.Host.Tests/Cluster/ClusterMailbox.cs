using MimeKit;

namespace RuleMail.Host.Tests.Cluster;

/// <summary>
/// The mailbox a test cluster fetches (<see cref="MailboxKind"/>): the account's fetch source for the configuration, how
/// the test delivers messages to it, and what each folder holds afterwards, read the way the mailbox's own users would.
/// </summary>
internal abstract class ClusterMailbox : IAsyncDisposable
{
    /// <summary>The source's lines of the account's <c>fetch:</c> section, indented six spaces.</summary>
    public abstract string FetchYaml { get; }

    /// <summary>Delivers the messages to the INBOX, in order.</summary>
    public abstract Task DeliverAsync(IReadOnlyList<MimeMessage> messages);

    /// <summary>Every message in <paramref name="folder"/> (<c>INBOX</c> or one a rule moves to): its Message-ID and keywords.</summary>
    public abstract Task<IReadOnlyList<Stored>> ListAsync(string folder);

    public abstract ValueTask DisposeAsync();

    /// <summary>A message as its mailbox holds it.</summary>
    public sealed record Stored(string? MessageId, IReadOnlySet<string> Keywords);
}
