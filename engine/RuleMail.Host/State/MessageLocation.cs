namespace RuleMail.Host.State;

/// <summary>
/// Where a message lives now, which changes when a move takes it elsewhere: its folder and its key there. Its ledger
/// entry keeps the key it was fetched under; this is where a retry reads it and acts on it.
/// </summary>
/// <param name="Folder">The IMAP folder; the Maildir folder (<c>INBOX</c> for the Maildir's root); <c>POP3</c>.</param>
/// <param name="Key">
/// Its key in <paramref name="Folder"/>: <c>UIDVALIDITY:UID</c> (IMAP), the unique name (Maildir: it never changes),
/// the UIDL (POP3: a message there never moves). Null when the server did not say (an IMAP move without UIDPLUS, or
/// a move recorded before locations were): the message is then found again by its Message-ID and content.
/// </param>
/// <param name="UidValidity">IMAP: the folder's UIDVALIDITY the UID belongs to.</param>
/// <param name="Uid">IMAP: the message's UID in the folder.</param>
public sealed record MessageLocation(string Folder, string? Key, uint? UidValidity = null, uint? Uid = null)
{
    /// <summary>True when <paramref name="folder"/> names this location's folder (<c>INBOX</c> in any case, other names exactly).</summary>
    public bool IsIn(string folder) => SameFolder(Folder, folder);

    /// <summary>True when both name the same folder: <c>INBOX</c> is case-insensitive (RFC 3501), other names are not.</summary>
    public static bool SameFolder(string first, string second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        return (string.Equals(first, "INBOX", StringComparison.OrdinalIgnoreCase) && string.Equals(second, "INBOX", StringComparison.OrdinalIgnoreCase))
            || string.Equals(first, second, StringComparison.Ordinal);
    }

    /// <summary>Where the entry's message was fetched: its folder and source key.</summary>
    public static MessageLocation FetchedPlace(LedgerEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return new MessageLocation(entry.Folder, entry.SourceKey, entry.UidValidity, entry.Uid);
    }

    public override string ToString() => Key is null ? $"{Folder} (key unknown)" : $"{Folder} {Key}";
}
