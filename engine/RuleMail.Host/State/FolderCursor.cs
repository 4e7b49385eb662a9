namespace RuleMail.Host.State;

/// <summary>How far an IMAP folder has been read: every UID up to <paramref name="LastUid"/> under <paramref name="UidValidity"/> is in the ledger.</summary>
public sealed record FolderCursor(string Account, string Folder, uint UidValidity, uint LastUid);
