namespace RuleMail.Host.Cluster;

/// <summary>
/// The cluster's tables in the PostgreSQL state (migrations 2, 3 and 4 of <see cref="State.PostgresSchema"/>): the nodes,
/// the leases (one node lists a mailbox or sends an outbox at a time), the work queue every node's workers claim from,
/// and Quartz.NET's own tables for the clustered schedule.
/// </summary>
internal static class ClusterSchema
{
    /// <summary>The channel a lister notifies when it queued work, so idle workers on every node wake at once.</summary>
    public const string WorkChannel = "rulemail_work";

    /// <summary>The table prefix of Quartz's tables.</summary>
    public const string QuartzPrefix = "qrtz_";

    /// <summary>
    /// Nodes (one row per process start: <c>instance</c>), leases and work items (<c>not_before</c>: given back after a
    /// failure, a message waits out a backoff, so a mailbox that is down does not hold every worker of the cluster). Fencing numbers come from one sequence,
    /// so a number is never given twice, even to a message queued again after it was finished: a claim or lease that
    /// was taken over never matches a later one.
    /// </summary>
    public const string Tables = """
        CREATE SEQUENCE cluster_fence;

        CREATE TABLE cluster_node (
            instance   text        NOT NULL PRIMARY KEY,
            node       text        NOT NULL,
            host       text        NOT NULL,
            pid        integer     NOT NULL,
            version    text        NOT NULL,
            started_at timestamptz NOT NULL,
            last_seen  timestamptz NOT NULL,
            stopped_at timestamptz
        );

        CREATE TABLE cluster_lease (
            name       text        NOT NULL PRIMARY KEY,
            owner      text,
            expires_at timestamptz NOT NULL,
            fence      bigint      NOT NULL
        );

        CREATE TABLE work_item (
            account       text        NOT NULL,
            folder        text        NOT NULL,
            source_key    text        NOT NULL,
            uid_validity  bigint,
            uid           bigint,
            listed        boolean     NOT NULL,
            enqueued_at   timestamptz NOT NULL,
            claimed_by    text,
            claim_expires timestamptz,
            fence         bigint      NOT NULL DEFAULT 0,
            claims        integer     NOT NULL DEFAULT 0,
            not_before    timestamptz,
            PRIMARY KEY (account, folder, source_key)
        );

        CREATE INDEX work_item_by_age ON work_item (enqueued_at);
        CREATE INDEX work_item_by_owner ON work_item (claimed_by) WHERE claimed_by IS NOT NULL;
        """;

    /// <summary>
    /// Migration 4: a work item has a kind (<see cref="WorkKind"/>: a message to fetch or an outbox file to send), part of
    /// its key, so an outbox file is never taken for a message of a folder that happens to bear the outbox's name. The
    /// items queued before are messages to fetch; from now on every insert says its kind (no default).
    /// </summary>
    public const string WorkKinds = """
        ALTER TABLE work_item ADD COLUMN kind text NOT NULL DEFAULT 'fetch' CONSTRAINT work_item_kind CHECK (kind IN ('fetch', 'send'));
        ALTER TABLE work_item ALTER COLUMN kind DROP DEFAULT;
        ALTER TABLE work_item DROP CONSTRAINT work_item_pkey;
        ALTER TABLE work_item ADD PRIMARY KEY (kind, account, folder, source_key);
        """;

    /// <summary>
    /// Quartz's PostgreSQL schema, as Quartz itself would create it (its embedded script, which only creates what is
    /// missing), applied here under the migration lock: several nodes starting at once would otherwise each create it
    /// at the same moment and all but one fail.
    /// </summary>
    public static string QuartzTables()
    {
        const string Resource = "Quartz.Impl.AdoJobStore.Schema.create_postgres.sql";
        using var stream = typeof(Quartz.IScheduler).Assembly.GetManifestResourceStream(Resource)
            ?? throw new InvalidOperationException($"Quartz no longer ships {Resource}; its PostgreSQL schema cannot be created");
        using var reader = new StreamReader(stream);
        var script = reader.ReadToEnd();

        // '{0}' is the table prefix, '{1}' the same without a schema qualifier; statements are separated by "--;;" lines.
        var statements = script.Replace("{0}", QuartzPrefix, StringComparison.Ordinal).Replace("{1}", QuartzPrefix, StringComparison.Ordinal)
            .Split(["\r\n--;;", "\n--;;"], StringSplitOptions.None)
            .Select(s => s.Trim())
            .Where(s => s.Split('\n').Any(line => line.Trim().Length > 0 && !line.TrimStart().StartsWith("--", StringComparison.Ordinal)));
        return string.Join(";\n", statements.Select(s => s.TrimEnd(';'))) + ";";
    }
}
