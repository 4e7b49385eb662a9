using System.Globalization;
using Microsoft.Data.Sqlite;
using static RuleMail.Host.State.SqliteValues;

namespace RuleMail.Host.State;

/// <summary>
/// The one read the HTTP API makes on every request — its bearer token by SHA-256 — on a connection of its own, with
/// the statement prepared once. On the store's connection that read waited behind whatever held the store's gate (a
/// fetch records a message's ledger entry, analysis and plan under it) and parsed its SQL anew each time.
/// </summary>
/// <remarks>
/// Nothing is cached: each lookup is a read transaction of its own, and in WAL mode a read sees every commit made
/// before it began, by any connection or process. A token revoked by this process or by <c>rulemail tokens revoke</c>
/// in another is therefore refused by its next request, exactly as on the store's connection. The connection is
/// <c>query_only</c>. Thread-safe: lookups take turns on the connection (each is a few microseconds, with no I/O
/// once the pages are cached).
/// </remarks>
internal sealed class SqliteTokenReader : IDisposable
{
    private readonly Lock _lock = new();
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _find;
    private readonly SqliteParameter _sha256;
    private bool _disposed;

    private SqliteTokenReader(SqliteConnection connection, SqliteCommand find, SqliteParameter sha256)
    {
        _connection = connection;
        _find = find;
        _sha256 = sha256;
    }

    /// <summary>Opens a query-only connection to the store's (existing, WAL) database and prepares the lookup.</summary>
    public static SqliteTokenReader Open(string path, int busyTimeoutMilliseconds, string columns)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,

            // Never creates the file: the store opened it, in WAL mode, before anything asks for a token.
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
            DefaultTimeout = 30,
        };
        var connection = new SqliteConnection(builder.ToString());
        SqliteCommand? find = null;
        try
        {
            connection.Open();
            using (var pragmas = connection.CreateCommand())
            {
                pragmas.CommandText = $"PRAGMA busy_timeout = {busyTimeoutMilliseconds.ToString(CultureInfo.InvariantCulture)}; PRAGMA query_only = ON;";
                pragmas.ExecuteNonQuery();
            }

            find = connection.CreateCommand();
            find.CommandText = $"SELECT {columns} FROM api_token WHERE token_sha256 = $sha256;";
            var sha256 = find.Parameters.Add("$sha256", SqliteType.Text);
            sha256.Value = string.Empty;
            find.Prepare();
            return new SqliteTokenReader(connection, find, sha256);
        }
        catch
        {
            find?.Dispose();
            connection.Dispose();
            throw;
        }
    }

    /// <summary>The token whose SHA-256 this is, revoked or not; null when none has it.</summary>
    /// <exception cref="ObjectDisposedException">The store was closed.</exception>
    public ApiToken? Find(string sha256)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _sha256.Value = sha256;

            // Disposing the reader resets the statement, which ends its read transaction: the next lookup reads afresh.
            using var reader = _find.ExecuteReader();
            return reader.Read() ? Token(reader) : null;
        }
    }

    /// <summary>One <c>api_token</c> row, in the column order of <see cref="SqliteStateStore"/>'s token queries.</summary>
    public static ApiToken Token(SqliteDataReader reader) => new(
        reader.GetString(0),
        EnumText<ApiRole>.Read(reader.GetString(1)),
        reader.GetString(2),
        ReadTime(reader.GetString(3)),
        ReadNullableTime(reader, 4));

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _find.Dispose();
            _connection.Dispose();
        }
    }
}
