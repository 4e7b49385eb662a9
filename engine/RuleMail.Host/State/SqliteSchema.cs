namespace RuleMail.Host.State;

/// <summary>
/// The SQLite state database's schema, versioned by <c>PRAGMA user_version</c>. Enums are stored as their
/// lowercase names and times as ISO-8601 UTC text (<c>"O"</c> format: fixed width, so text order is time
/// order), so the file reads well in the <c>sqlite3</c> shell.
/// </summary>
internal static class SqliteSchema
{
    /// <summary>The version this build writes and reads; a newer file is refused, an older one upgraded.</summary>
    public const int Version = 5;

    /// <summary>Creates version 1 (every statement is idempotent).</summary>
    public const string CreateVersion1 = """
        CREATE TABLE IF NOT EXISTS folder_cursor (
            account      TEXT    NOT NULL,
            folder       TEXT    NOT NULL,
            uid_validity INTEGER NOT NULL,
            last_uid     INTEGER NOT NULL,
            PRIMARY KEY (account, folder)
        );

        CREATE TABLE IF NOT EXISTS message (
            account       TEXT    NOT NULL,
            folder        TEXT    NOT NULL,
            source_key    TEXT    NOT NULL,
            uid_validity  INTEGER,
            uid           INTEGER,
            message_id    TEXT,
            content_hash  TEXT    NOT NULL,
            state         TEXT    NOT NULL,
            attempts      INTEGER NOT NULL DEFAULT 0,
            next_attempt  TEXT,
            error         TEXT,
            security_json TEXT,
            decision_json TEXT,
            tags          TEXT    NOT NULL DEFAULT '[]',
            subject       TEXT,
            sender        TEXT,
            first_seen    TEXT    NOT NULL,
            updated_at    TEXT    NOT NULL,
            PRIMARY KEY (account, folder, source_key)
        );

        CREATE INDEX IF NOT EXISTS message_by_content_hash ON message (account, folder, content_hash);
        CREATE INDEX IF NOT EXISTS message_by_state_due ON message (account, folder, state, next_attempt);

        CREATE TABLE IF NOT EXISTS side_effect (
            idempotency_key TEXT    NOT NULL PRIMARY KEY,
            account         TEXT    NOT NULL,
            folder          TEXT    NOT NULL,
            source_key      TEXT    NOT NULL,
            ord             INTEGER NOT NULL,
            kind            TEXT    NOT NULL,
            target          TEXT    NOT NULL,
            payload         TEXT,
            state           TEXT    NOT NULL,
            attempts        INTEGER NOT NULL DEFAULT 0,
            detail          TEXT,
            updated_at      TEXT    NOT NULL,
            FOREIGN KEY (account, folder, source_key) REFERENCES message (account, folder, source_key)
        );

        CREATE INDEX IF NOT EXISTS side_effect_by_message ON side_effect (account, folder, source_key, ord);

        CREATE TABLE IF NOT EXISTS outbox (
            account      TEXT    NOT NULL,
            file_name    TEXT    NOT NULL,
            content_hash TEXT    NOT NULL,
            message_id   TEXT,
            state        TEXT    NOT NULL,
            reason       TEXT,
            attempts     INTEGER NOT NULL DEFAULT 0,
            next_attempt TEXT,
            updated_at   TEXT    NOT NULL,
            PRIMARY KEY (account, file_name, content_hash)
        );
        """;

    /// <summary>
    /// Version 2: the store's identity and write sequence (<c>store_meta</c>, one row), bumped by triggers on every
    /// row written to the ledger, so the sequence cannot fall behind what is committed, and each webhook's timeout.
    /// <see cref="StateIdentity"/> keeps the identity and the highest sequence known committed beside the file.
    /// </summary>
    public static readonly string UpgradeToVersion2 = BuildVersion2();

    private static string BuildVersion2()
    {
        var sql = new System.Text.StringBuilder("""
            CREATE TABLE IF NOT EXISTS store_meta (
                id       INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
                store_id TEXT    NOT NULL,
                seq      INTEGER NOT NULL
            );
            INSERT OR IGNORE INTO store_meta (id, store_id, seq) VALUES (1, lower(hex(randomblob(16))), 0);
            ALTER TABLE side_effect ADD COLUMN timeout_ms INTEGER;

            """);
        foreach (var table in new[] { "message", "side_effect", "outbox", "folder_cursor" })
        {
            foreach (var change in new[] { "INSERT", "UPDATE", "DELETE" })
            {
                sql.Append(System.Globalization.CultureInfo.InvariantCulture,
                    $"CREATE TRIGGER IF NOT EXISTS seq_{table}_{change.ToLowerInvariant()} AFTER {change} ON {table} BEGIN UPDATE store_meta SET seq = seq + 1 WHERE id = 1; END;\n");
            }
        }

        return sql.ToString();
    }

    /// <summary>
    /// Version 3: every analysis of a message (<c>analysis</c>: version 1 at fetch, then one per retry that changed the
    /// result), the entry's current version, the side effects' version, and where a moved message is now
    /// (<c>location_*</c>). Existing entries keep everything: each analysed one gets its analysis as version 1 (at its
    /// first_seen: v2 did not keep the time), its side effects are version 1 (their keys unchanged), and a message
    /// whose move was done is located in that folder — by its unique name for a Maildir, which a move keeps; for
    /// IMAP the new UID was not recorded, so it is found there again by Message-ID and content.
    /// </summary>
    public const string UpgradeToVersion3 = """
        CREATE TABLE IF NOT EXISTS analysis (
            account         TEXT    NOT NULL,
            folder          TEXT    NOT NULL,
            source_key      TEXT    NOT NULL,
            version         INTEGER NOT NULL,
            analysed_at     TEXT    NOT NULL,
            triggered_by    TEXT    NOT NULL,
            security_json   TEXT    NOT NULL,
            decision_json   TEXT    NOT NULL,
            tags            TEXT    NOT NULL DEFAULT '[]',
            security_failed INTEGER NOT NULL,
            PRIMARY KEY (account, folder, source_key, version),
            FOREIGN KEY (account, folder, source_key) REFERENCES message (account, folder, source_key)
        );

        ALTER TABLE message ADD COLUMN analysis_version INTEGER;
        ALTER TABLE message ADD COLUMN location_folder TEXT;
        ALTER TABLE message ADD COLUMN location_key TEXT;
        ALTER TABLE message ADD COLUMN location_uid_validity INTEGER;
        ALTER TABLE message ADD COLUMN location_uid INTEGER;
        ALTER TABLE side_effect ADD COLUMN analysis_version INTEGER NOT NULL DEFAULT 1;

        CREATE INDEX IF NOT EXISTS message_by_location ON message (account, location_folder, location_key);
        DROP INDEX IF EXISTS side_effect_by_message;
        CREATE INDEX IF NOT EXISTS side_effect_by_message ON side_effect (account, folder, source_key, analysis_version, ord);

        INSERT INTO analysis (account, folder, source_key, version, analysed_at, triggered_by, security_json, decision_json, tags, security_failed)
        SELECT account, folder, source_key, 1, first_seen, 'fetch', COALESCE(security_json, 'null'), decision_json, tags,
               COALESCE(json_extract(security_json, '$.sign.success') = 0, 0) OR COALESCE(json_extract(security_json, '$.encryption.success') = 0, 0)
        FROM message WHERE decision_json IS NOT NULL;
        UPDATE message SET analysis_version = 1 WHERE decision_json IS NOT NULL;

        UPDATE message SET
            location_folder = (
                SELECT s.target FROM side_effect s
                WHERE s.account = message.account AND s.folder = message.folder AND s.source_key = message.source_key
                  AND s.kind = 'move' AND s.state = 'done'
                ORDER BY s.ord DESC LIMIT 1),
            location_key = CASE WHEN uid IS NULL THEN source_key END
        WHERE EXISTS (
            SELECT 1 FROM side_effect s
            WHERE s.account = message.account AND s.folder = message.folder AND s.source_key = message.source_key
              AND s.kind = 'move' AND s.state = 'done');

        CREATE TRIGGER IF NOT EXISTS seq_analysis_insert AFTER INSERT ON analysis BEGIN UPDATE store_meta SET seq = seq + 1 WHERE id = 1; END;
        CREATE TRIGGER IF NOT EXISTS seq_analysis_update AFTER UPDATE ON analysis BEGIN UPDATE store_meta SET seq = seq + 1 WHERE id = 1; END;
        CREATE TRIGGER IF NOT EXISTS seq_analysis_delete AFTER DELETE ON analysis BEGIN UPDATE store_meta SET seq = seq + 1 WHERE id = 1; END;
        """;

    /// <summary>
    /// Version 4: the HTTP API's bearer tokens (<c>api_token</c>), by name, each stored as the SHA-256 of the token
    /// only (the token itself is shown once, when it is made). A revoked token keeps its row, so the name's history stays.
    /// </summary>
    public const string UpgradeToVersion4 = """
        CREATE TABLE IF NOT EXISTS api_token (
            name         TEXT NOT NULL PRIMARY KEY,
            role         TEXT NOT NULL,
            token_sha256 TEXT NOT NULL UNIQUE,
            created_at   TEXT NOT NULL,
            revoked_at   TEXT
        );
        """;

    /// <summary>
    /// Version 5: which copies of an outbox message went out (<c>outbox.delivered</c>, a JSON array of copy keys such as
    /// <c>["main","bcc:carol@both.test"]</c>), so a message whose Bcc copy failed sends only what is missing next time.
    /// Existing entries have none recorded: a sent one is never sent again anyway, and a queued or failed one had sent
    /// nothing that the ledger knew of.
    /// </summary>
    public const string UpgradeToVersion5 = """
        ALTER TABLE outbox ADD COLUMN delivered TEXT NOT NULL DEFAULT '[]';
        """;
}
