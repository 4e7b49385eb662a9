namespace RuleMail.Host.State;

// The IMAP folder cursors: how far each folder was read.
internal sealed partial class PostgresStateStore
{
    /// <inheritdoc />
    public async Task<FolderCursor?> GetCursorAsync(string account, string folder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(folder);
        var rows = await ReadListAsync(
            "SELECT uid_validity, last_uid FROM folder_cursor WHERE account = @account AND folder = @folder;",
            reader => new FolderCursor(account, folder, ReadUInt(reader, 0), ReadUInt(reader, 1)),
            cancellationToken,
            ("account", account),
            ("folder", folder)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc />
    public Task SetCursorAsync(FolderCursor cursor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        return WriteAsync(
            (connection, transaction) => ExecuteAsync(
                connection,
                transaction,
                """
                INSERT INTO folder_cursor (account, folder, uid_validity, last_uid)
                VALUES (@account, @folder, @uid_validity, @last_uid)
                ON CONFLICT (account, folder) DO UPDATE SET
                    uid_validity = excluded.uid_validity,
                    last_uid = excluded.last_uid;
                """,
                cancellationToken,
                ("account", cursor.Account),
                ("folder", cursor.Folder),
                ("uid_validity", (long)cursor.UidValidity),
                ("last_uid", (long)cursor.LastUid)),
            cancellationToken);
    }
}
