using Microsoft.Data.Sqlite;
using RuleMail.Core.Tests.Support;
using RuleMail.Host.State;
using static RuleMail.Host.Tests.State.StateStoreContract;

namespace RuleMail.Host.Tests.State;

/// <summary>
/// What the SQLite state store alone does: one file in WAL mode, versioned by <c>PRAGMA user_version</c>, upgraded
/// from older versions, readable in the <c>sqlite3</c> shell. What every store does is <see cref="StateStoreContract"/>.
/// </summary>
public sealed class SqliteStateStoreTests
{

    [Fact]
    public async Task Open_creates_the_folder_and_a_current_version_database_in_wal_mode()
    {
        using var dir = new TempDirectory("state");
        var path = Path.Combine(dir.Path, "nested", "deeper", "state.db");

        await using (var store = await SqliteStateStore.OpenAsync(path, Ct))
        {
            Assert.Equal(path, store.Path);
        }

        Assert.True(File.Exists(path));
        Assert.Equal((long)SqliteSchema.Version, Scalar(path, "PRAGMA user_version;"));
        Assert.Equal("wal", Scalar(path, "PRAGMA journal_mode;"));
        var tables = Strings(path, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name;");
        Assert.Equal(["analysis", "api_token", "folder_cursor", "message", "outbox", "side_effect", "store_meta"], tables);
        var indexes = Strings(path, "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name;");
        Assert.Equal(["message_by_content_hash", "message_by_location", "message_by_state_due", "side_effect_by_message"], indexes);
    }

    [Fact]
    public async Task Reopening_an_existing_database_keeps_its_version_and_data_and_initialize_is_idempotent()
    {
        using var dir = new TempDirectory("state");
        var path = dir.File("state.db");
        await using (var store = await SqliteStateStore.OpenAsync(path, Ct))
        {
            await store.RecordAsync(Entry("7:1"), [Effect("7:1", 0)], Ct);
            await store.InitializeAsync(Ct);
            await store.InitializeAsync(Ct);
        }

        await using (var store = await SqliteStateStore.OpenAsync(path, Ct))
        {
            Assert.Single(await store.FindMessagesAsync(Account, Folder, ["7:1"], Ct));
            Assert.Single(await store.SideEffectsAsync(Account, Folder, "7:1", Ct));
        }

        Assert.Equal((long)SqliteSchema.Version, Scalar(path, "PRAGMA user_version;"));
    }

    [Fact]
    public async Task A_database_from_a_newer_version_is_refused()
    {
        using var dir = new TempDirectory("state");
        var path = dir.File("state.db");
        await using (await SqliteStateStore.OpenAsync(path, Ct))
        {
        }

        Execute(path, $"PRAGMA user_version = {SqliteSchema.Version + 1};");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => SqliteStateStore.OpenAsync(path, Ct));
        Assert.Contains($"version {SqliteSchema.Version + 1}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_version_4_database_is_upgraded_keeping_every_outbox_row_with_no_copy_recorded_as_delivered()
    {
        using var dir = new TempDirectory("state");
        var path = dir.File("state.db");
        Execute(path, SqliteSchema.CreateVersion1 + SqliteSchema.UpgradeToVersion2 + SqliteSchema.UpgradeToVersion3 + SqliteSchema.UpgradeToVersion4
            + """
            INSERT INTO outbox (account, file_name, content_hash, message_id, state, reason, attempts, next_attempt, updated_at) VALUES
                ('support', 'a.eml', 'aa', '<a@rulemail.test>', 'sent', 'signed with S/MIME', 0, NULL, '2025-03-14T07:00:00.0000000+00:00'),
                ('support', 'b.eml', 'bb', NULL, 'queued', 'smtp: 451 try again later', 2, '2025-03-14T07:30:00.0000000+00:00', '2025-03-14T07:10:00.0000000+00:00'),
                ('support', 'c.eml', 'cc', '<c@rulemail.test>', 'sending', NULL, 0, NULL, '2025-03-14T07:20:00.0000000+00:00'),
                ('sales', 'a.eml', 'dd', NULL, 'failed', 'smtp: 550 no such user', 1, NULL, '2025-03-14T07:40:00.0000000+00:00');
            PRAGMA user_version = 4;
            """);

        await using var store = await SqliteStateStore.OpenAsync(path, Ct);

        Assert.Equal((long)SqliteSchema.Version, Scalar(path, "PRAGMA user_version;"));
        var rows = await store.ListOutboxAsync(null, null, 10, Ct);
        Assert.Equal(
            [
                "sales a.eml dd failed 1 smtp: 550 no such user",
                "support c.eml cc sending 0 <c@rulemail.test>",
                "support b.eml bb queued 2 smtp: 451 try again later",
                "support a.eml aa sent 0 signed with S/MIME",
            ],
            rows.Select(e => $"{e.Account} {e.FileName} {e.ContentHash} {e.State.ToString().ToLowerInvariant()} {e.Attempts} {e.Reason ?? e.MessageId}"));
        Assert.All(rows, e => Assert.Empty(e.Delivered));
        Assert.Equal(new DateTimeOffset(2025, 3, 14, 7, 30, 0, TimeSpan.Zero), rows[2].NextAttempt);

        // The new column is written and read like any other.
        await store.SaveOutboxAsync(rows[1] with { Delivered = ["main"] }, Ct);
        Assert.Equal(["main"], (await store.FindOutboxAsync("support", "c.eml", "cc", Ct))!.Delivered);
    }

    [Fact]
    public async Task Enums_times_and_tags_are_stored_readably()
    {
        using var dir = new TempDirectory("state");
        var path = dir.File("state.db");
        await using (var store = await SqliteStateStore.OpenAsync(path, Ct))
        {
            await store.RecordAsync(
                Entry("7:1") with { State = MessageState.Retry, NextAttempt = T0, Tags = ["a", "b"] },
                [Effect("7:1", 0) with { Kind = SideEffectKind.Webhook, State = SideEffectState.Skipped }],
                Ct);
            await store.SaveOutboxAsync(Outbox("out.eml") with { State = OutboxState.Held, Delivered = ["main", "bcc:carol@both.test"] }, Ct);
        }

        Assert.Equal(
            ["retry", "2025-03-14T07:26:53.1234567+00:00", "[\"a\",\"b\"]"],
            Strings(path, "SELECT state, next_attempt, tags FROM message;").Single().Split('|'));
        Assert.Equal(["webhook|skipped"], Strings(path, "SELECT kind, state FROM side_effect;"));
        Assert.Equal(["""held|["main","bcc:carol@both.test"]"""], Strings(path, "SELECT state, delivered FROM outbox;"));
    }

    private static SqliteConnection Raw(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static object? Scalar(string path, string sql)
    {
        using var connection = Raw(path);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void Execute(string path, string sql)
    {
        using var connection = Raw(path);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Each row's columns joined with <c>|</c>.</summary>
    private static List<string> Strings(string path, string sql)
    {
        using var connection = Raw(path);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(string.Join('|', Enumerable.Range(0, reader.FieldCount).Select(i => reader.GetValue(i).ToString())));
        }

        return rows;
    }
}
