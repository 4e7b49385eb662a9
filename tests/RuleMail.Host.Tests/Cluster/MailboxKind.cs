namespace RuleMail.Host.Tests.Cluster;

/// <summary>What a test cluster's account fetches: a Dovecot mailbox over IMAP, or a Maildir every node reads directly.</summary>
public enum MailboxKind
{
    Imap,
    Maildir,
}
