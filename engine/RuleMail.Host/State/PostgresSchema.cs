using System.Globalization;
using Npgsql;

namespace RuleMail.Host.State;

/// <summary>
/// The PostgreSQL state database's schema as ordered migrations, each applied once and recorded in
/// <c>schema_version</c>. Version 1 is the whole schema SQLite reaches at its version 5 (<see cref="SqliteSchema"/>),
/// without SQLite's write sequence (<c>store_meta</c> and its triggers guard a single file against an older copy;
/// see <see cref="PostgresStateStore.SealAsync"/>).
/// </summary>
/// <remarks>
/// Enums are their lowercase names and JSON is text, as in SQLite, so both backends keep exactly the strings they were
/// given. Times are <c>bigint</c> UTC ticks (100 ns since 0001-01-01, <see cref="DateTimeOffset.UtcTicks"/>):
/// <c>timestamptz</c> keeps only microseconds, and the contract keeps an instant exactly (a retry due one tick after
/// now is not due yet). <c>rulemail_time(ticks)</c> shows one as a <c>timestamptz</c> in psql. Text keys are
/// <c>COLLATE "C"</c> so they sort byte-wise like SQLite's, whatever the database's default collation.
/// To change the schema, append the next version to <see cref="Migrations"/>; never edit an applied one.
/// </remarks>
internal static class PostgresSchema
{
    /// <summary>
    /// The version this build writes and reads: the last migration's (a constant cannot be read off the list, so
    /// appending a migration bumps it too; <see cref="ApplyAsync"/> refuses a list that disagrees). A newer database is refused.
    /// </summary>
    public const int Version = 4;

    /// <summary>
    /// Held (transaction-scoped) while migrating, so nodes starting at once migrate one after the other: the first
    /// applies what is missing, the others then find nothing to do. Any fixed number works; this is "RuleMail" in ASCII.
    /// </summary>
    private const long MigrationLock = 0x52756c654d61696c;

    /// <summary>The migrations, oldest first; version N is at index N - 1.</summary>
    private static readonly (int Version, string Sql)[] Migrations =
    [
        (1, """
            CREATE FUNCTION rulemail_time(ticks bigint) RETURNS timestamptz
                LANGUAGE sql IMMUTABLE STRICT
                AS $$ SELECT to_timestamp((ticks - 621355968000000000) / 10000000.0) $$;

            CREATE TABLE folder_cursor (
                account      text COLLATE "C" NOT NULL,
                folder       text COLLATE "C" NOT NULL,
                uid_validity bigint NOT NULL,
                last_uid     bigint NOT NULL,
                PRIMARY KEY (account, folder)
            );

            CREATE TABLE message (
                account               text COLLATE "C" NOT NULL,
                folder                text COLLATE "C" NOT NULL,
                source_key            text COLLATE "C" NOT NULL,
                uid_validity          bigint,
                uid                   bigint,
                message_id            text,
                content_hash          text COLLATE "C" NOT NULL,
                state                 text COLLATE "C" NOT NULL,
                attempts              integer NOT NULL DEFAULT 0,
                next_attempt          bigint,
                error                 text,
                security_json         text,
                decision_json         text,
                tags                  text NOT NULL DEFAULT '[]',
                subject               text,
                sender                text,
                first_seen            bigint NOT NULL,
                updated_at            bigint NOT NULL,
                analysis_version      integer,
                location_folder       text COLLATE "C",
                location_key          text COLLATE "C",
                location_uid_validity bigint,
                location_uid          bigint,
                PRIMARY KEY (account, folder, source_key)
            );

            CREATE INDEX message_by_content_hash ON message (account, folder, content_hash);
            CREATE INDEX message_by_state_due ON message (account, folder, state, next_attempt);
            CREATE INDEX message_by_location ON message (account, location_folder, location_key);

            CREATE TABLE analysis (
                account         text COLLATE "C" NOT NULL,
                folder          text COLLATE "C" NOT NULL,
                source_key      text COLLATE "C" NOT NULL,
                version         integer NOT NULL,
                analysed_at     bigint NOT NULL,
                triggered_by    text COLLATE "C" NOT NULL,
                security_json   text NOT NULL,
                decision_json   text NOT NULL,
                tags            text NOT NULL DEFAULT '[]',
                security_failed boolean NOT NULL,
                PRIMARY KEY (account, folder, source_key, version),
                FOREIGN KEY (account, folder, source_key) REFERENCES message (account, folder, source_key)
            );

            CREATE TABLE side_effect (
                idempotency_key  text COLLATE "C" NOT NULL PRIMARY KEY,
                account          text COLLATE "C" NOT NULL,
                folder           text COLLATE "C" NOT NULL,
                source_key       text COLLATE "C" NOT NULL,
                ord              integer NOT NULL,
                kind             text COLLATE "C" NOT NULL,
                target           text NOT NULL,
                payload          text,
                state            text COLLATE "C" NOT NULL,
                attempts         integer NOT NULL DEFAULT 0,
                detail           text,
                updated_at       bigint NOT NULL,
                timeout_ms       bigint,
                analysis_version integer NOT NULL DEFAULT 1,
                FOREIGN KEY (account, folder, source_key) REFERENCES message (account, folder, source_key)
            );

            CREATE INDEX side_effect_by_message ON side_effect (account, folder, source_key, analysis_version, ord);

            CREATE TABLE outbox (
                account      text COLLATE "C" NOT NULL,
                file_name    text COLLATE "C" NOT NULL,
                content_hash text COLLATE "C" NOT NULL,
                message_id   text,
                state        text COLLATE "C" NOT NULL,
                reason       text,
                attempts     integer NOT NULL DEFAULT 0,
                next_attempt bigint,
                updated_at   bigint NOT NULL,
                delivered    text NOT NULL DEFAULT '[]',
                PRIMARY KEY (account, file_name, content_hash)
            );

            CREATE TABLE api_token (
                name         text COLLATE "C" NOT NULL PRIMARY KEY,
                role         text COLLATE "C" NOT NULL,
                token_sha256 text COLLATE "C" NOT NULL UNIQUE,
                created_at   bigint NOT NULL,
                revoked_at   bigint
            );
            """),

        // 2: the cluster's nodes, leases and work queue (Cluster.ClusterSchema).
        (2, Cluster.ClusterSchema.Tables),

        // 3: Quartz.NET's tables for the clustered schedule, created here under the migration lock.
        (3, Cluster.ClusterSchema.QuartzTables()),

        // 4: a work item's kind (a message to fetch or an outbox file to send) in the work queue's key.
        (4, Cluster.ClusterSchema.WorkKinds),
    ];

    /// <summary>The versions applied to a database, in order (for tests and diagnostics).</summary>
    public static async Task<IReadOnlyList<int>> AppliedAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var command = dataSource.CreateCommand(
            "SELECT version FROM schema_version ORDER BY version;");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var versions = new List<int>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            versions.Add(reader.GetInt32(0));
        }

        return versions;
    }

    /// <summary>
    /// Applies every migration the database lacks, in one transaction under <see cref="MigrationLock"/> (a crash
    /// leaves the old version whole). Idempotent; safe on every start, from any number of nodes at once.
    /// </summary>
    /// <remarks>
    /// Not routed through the store's write helper: the schema comes first (the cluster fencing check it will make
    /// reads tables a migration creates), and the advisory lock already serializes it across nodes.
    /// </remarks>
    /// <param name="name">How the database is named in errors (host, port and database; never the password).</param>
    /// <exception cref="InvalidOperationException">The database's schema is newer than this build knows.</exception>
    public static async Task ApplyAsync(NpgsqlDataSource dataSource, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        CheckOrder();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@lock);", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("lock", MigrationLock);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var create = new NpgsqlCommand(
            """
            CREATE TABLE IF NOT EXISTS schema_version (
                version    integer     NOT NULL PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            """,
            connection,
            transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        int current;
        await using (var query = new NpgsqlCommand("SELECT COALESCE(max(version), 0) FROM schema_version;", connection, transaction))
        {
            current = Convert.ToInt32(await query.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        }

        if (current > Version)
        {
            throw new InvalidOperationException(
                $"{name}: the state database has schema version {current}; this build knows up to {Version}");
        }

        foreach (var (version, sql) in Migrations)
        {
            if (version <= current)
            {
                continue;
            }

            await using (var migrate = new NpgsqlCommand(sql, connection, transaction))
            {
                await migrate.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using var record = new NpgsqlCommand("INSERT INTO schema_version (version) VALUES (@version);", connection, transaction);
            record.Parameters.AddWithValue("version", version);
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The list is 1, 2, 3, ... ending at <see cref="Version"/>: an appended migration that forgot to bump it fails at once.</summary>
    private static void CheckOrder()
    {
        for (var i = 0; i < Migrations.Length; i++)
        {
            if (Migrations[i].Version != i + 1)
            {
                throw new InvalidOperationException($"PostgreSQL migration {i + 1} is numbered {Migrations[i].Version}");
            }
        }

        if (Migrations[^1].Version != Version)
        {
            throw new InvalidOperationException($"the last PostgreSQL migration is {Migrations[^1].Version}, but PostgresSchema.Version is {Version}");
        }
    }
}
