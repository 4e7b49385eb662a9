using static RuleMail.Host.State.SqliteValues;

namespace RuleMail.Host.State;

// The IMAP folder cursors: how far each folder was read.
internal sealed partial class SqliteStateStore
{
    /// <inheritdoc />
    public async Task<FolderCursor?> GetCursorAsync(string account, string folder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(folder);
        return await Gated(async () =>
        {
            await using var command = Command(
                "SELECT uid_validity, last_uid FROM folder_cursor WHERE account = $account AND folder = $folder;",
                ("$account", account),
                ("$folder", folder));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            return new FolderCursor(account, folder, ReadUInt(reader, 0), ReadUInt(reader, 1));
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task SetCursorAsync(FolderCursor cursor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        await Gated(async () =>
        {
            await using var command = Command(
                """
                INSERT INTO folder_cursor (account, folder, uid_validity, last_uid)
                VALUES ($account, $folder, $uid_validity, $last_uid)
                ON CONFLICT (account, folder) DO UPDATE SET
                    uid_validity = excluded.uid_validity,
                    last_uid = excluded.last_uid;
                """,
                ("$account", cursor.Account),
                ("$folder", cursor.Folder),
                ("$uid_validity", (long)cursor.UidValidity),
                ("$last_uid", (long)cursor.LastUid));
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }}
