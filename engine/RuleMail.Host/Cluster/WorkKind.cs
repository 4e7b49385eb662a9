namespace RuleMail.Host.Cluster;

/// <summary>
/// What a queued work item is: a message to fetch and judge, or an outbox file to send. Part of the queue's key (with
/// the account, the folder and the source key), so an outbox file and a mailbox message can never be taken for each
/// other, whatever a folder is called; a batch of claims is always of one kind. Stored as its lowercase name.
/// </summary>
public enum WorkKind
{
    /// <summary>A message in a mailbox folder (<see cref="WorkItem.Folder"/>), by IMAP UID (<see cref="WorkItem.SourceKey"/>).</summary>
    Fetch,

    /// <summary>A file in an account's outbox (<see cref="WorkItem.Folder"/> is the outbox, <see cref="WorkItem.SourceKey"/> the file name).</summary>
    Send,
}
