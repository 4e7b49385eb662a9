using Npgsql;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using static RuleMail.Host.Tests.State.StateStoreContract;

namespace RuleMail.Host.Tests.State;

/// <summary>
/// What the PostgreSQL state store alone does: versioned migrations, applied once however many nodes start at once;
/// a newer schema refused; readable rows; and the races between nodes that share one database, which neither an
/// analysis version nor a side-effect plan may win twice. What every store does is <see cref="StateStoreContract"/>.
/// </summary>
[Collection(PostgresTests.Name)]
public sealed class PostgresStateStoreTests(PostgresServer server)
{
    /// <summary>Rounds of each race: one round rarely lines the two writers up; many do.</summary>
    private const int Rounds = 25;

    [Fact]
    public async Task Migrating_an_empty_database_creates_every_table_at_the_current_version()
    {
        var database = await server.CreateDatabaseAsync();

        await using var store = await PostgresStateStore.OpenAsync(database, Ct);

        Assert.Equal(Enumerable.Range(1, PostgresSchema.Version), await AppliedAsync(database));
        Assert.Equal(
            ["analysis", "api_token", "cluster_lease", "cluster_node", "folder_cursor", "message", "outbox", "schema_version", "side_effect", "work_item"],
            await StringsAsync(database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'qrtz%' ORDER BY tablename;"));
        Assert.Equal(
            ["message_by_content_hash", "message_by_location", "message_by_state_due", "side_effect_by_message", "work_item_by_age", "work_item_by_owner"],
            await StringsAsync(database, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%pkey' AND indexname NOT LIKE '%key' AND indexname NOT LIKE 'idx_qrtz%' ORDER BY indexname;"));

        // Quartz's own tables for the clustered schedule, as its script creates them (migration 3).
        var quartz = await StringsAsync(database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'qrtz%' ORDER BY tablename;");
        Assert.Contains("qrtz_triggers", quartz);
        Assert.Contains("qrtz_locks", quartz);
        Assert.Contains("qrtz_scheduler_state", quartz);
        Assert.Contains("PostgreSQL database", store.Name, StringComparison.Ordinal);
        Assert.DoesNotContain("Password", store.Name, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Reopening_and_initializing_again_apply_nothing_twice_and_keep_the_data()
    {
        var database = await server.CreateDatabaseAsync();
        await using (var store = await PostgresStateStore.OpenAsync(database, Ct))
        {
            await store.RecordAsync(Entry("7:1"), [Effect("7:1", 0)], Ct);
        }

        var appliedAt = await StringsAsync(database, "SELECT version || ' ' || applied_at FROM schema_version ORDER BY version;");
        await using (var store = await PostgresStateStore.OpenAsync(database, Ct))
        {
            await store.InitializeAsync(Ct);
            await store.InitializeAsync(Ct);
            Assert.Single(await store.SideEffectsAsync(Account, Folder, "7:1", Ct));
        }

        Assert.Equal(appliedAt, await StringsAsync(database, "SELECT version || ' ' || applied_at FROM schema_version ORDER BY version;"));
    }

    [Fact]
    public async Task A_database_with_a_newer_schema_is_refused_with_both_versions()
    {
        var database = await server.CreateDatabaseAsync();
        await using (await PostgresStateStore.OpenAsync(database, Ct))
        {
        }

        await StringsAsync(database, $"INSERT INTO schema_version (version) VALUES ({PostgresSchema.Version + 1});");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgresStateStore.OpenAsync(database, Ct));
        Assert.Contains($"version {PostgresSchema.Version + 1}", error.Message, StringComparison.Ordinal);
        Assert.Contains($"knows up to {PostgresSchema.Version}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stores_opening_one_empty_database_at_once_all_succeed_and_it_is_migrated_once()
    {
        var database = await server.CreateDatabaseAsync();
        using var start = new SemaphoreSlim(0);

        var opening = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            await start.WaitAsync();
            return await PostgresStateStore.OpenAsync(database, Ct);
        })).ToList();
        start.Release(opening.Count);
        var stores = await Task.WhenAll(opening);

        try
        {
            Assert.Equal(Enumerable.Range(1, PostgresSchema.Version), await AppliedAsync(database));
            await stores[0].SetCursorAsync(new FolderCursor(Account, Folder, 7, 1), Ct);
            Assert.Equal(new FolderCursor(Account, Folder, 7, 1), await stores[^1].GetCursorAsync(Account, Folder, Ct));
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Two_stores_recording_the_same_analysis_version_at_once_exactly_one_wins()
    {
        var database = await server.CreateDatabaseAsync();
        await using var first = await PostgresStateStore.OpenAsync(database, Ct);
        await using var second = await PostgresStateStore.OpenAsync(database, Ct);

        for (var round = 0; round < Rounds; round++)
        {
            // Version 1 of a message neither knows (no row to lock: the analysis key decides), then version 2 of it (the row lock does).
            var key = $"7:{round + 1}";
            foreach (var version in new[] { 1, 2 })
            {
                var entry = AnalysedEntry(key) with { AnalysisVersion = version };
                var outcomes = await RaceAsync(
                    () => first.RecordAnalysisAsync(entry, Analysis(key, version, Failed), [Planned(key, version, SideEffectKind.Keyword, "first")], Ct),
                    () => second.RecordAnalysisAsync(entry, Analysis(key, version, Failed), [Planned(key, version, SideEffectKind.Keyword, "second")], Ct));

                var lost = Assert.Single(outcomes, o => o is not null);
                Assert.IsType<InvalidOperationException>(lost);
                Assert.Contains("meanwhile", lost.Message, StringComparison.Ordinal);
            }

            Assert.Equal([1, 2], (await first.AnalysesAsync(Account, Folder, key, Ct)).Select(a => a.Version));
            var effects = await second.SideEffectsAsync(Account, Folder, key, Ct);
            Assert.Equal([1, 2], effects.Select(e => e.AnalysisVersion)); // Only the winner's plan of each version.
            Assert.Equal(2, (await first.FindMessagesAsync(Account, Folder, [key], Ct))[key].AnalysisVersion);
        }
    }

    [Fact]
    public async Task Two_stores_recording_the_same_plan_at_once_never_double_it()
    {
        var database = await server.CreateDatabaseAsync();
        await using var first = await PostgresStateStore.OpenAsync(database, Ct);
        await using var second = await PostgresStateStore.OpenAsync(database, Ct);

        for (var round = 0; round < Rounds; round++)
        {
            var key = $"7:{round + 1}";
            SideEffect[] plan = [Effect(key, 0), Effect(key, 1, SideEffectKind.Webhook), Effect(key, 2, SideEffectKind.Move)];

            var outcomes = await RaceAsync(
                () => first.RecordAsync(Entry(key) with { Attempts = 1 }, plan, Ct),
                () => second.RecordAsync(Entry(key) with { Attempts = 2 }, plan, Ct));

            Assert.All(outcomes, Assert.Null);
            Assert.Equal(plan.Select(e => e.IdempotencyKey), (await first.SideEffectsAsync(Account, Folder, key, Ct)).Select(e => e.IdempotencyKey));
        }

        Assert.Equal(Rounds, (await second.CountMessagesAsync(Account, Ct)).Values.Sum());
    }

    [Fact]
    public async Task Rows_are_readable_in_psql_with_enums_as_names_json_as_text_and_times_as_utc_ticks()
    {
        var database = await server.CreateDatabaseAsync();
        await using (var store = await PostgresStateStore.OpenAsync(database, Ct))
        {
            await store.RecordAsync(
                Entry("7:1") with { State = MessageState.Retry, NextAttempt = T0, Tags = ["a", "b"], SecurityJson = """{ "spaced" :  true }""" },
                [Effect("7:1", 0) with { Kind = SideEffectKind.Webhook, State = SideEffectState.Skipped }],
                Ct);
            await store.SaveOutboxAsync(Outbox("out.eml") with { State = OutboxState.Held, Delivered = ["main"] }, Ct);
        }

        Assert.Equal(
            [$"retry|[\"a\",\"b\"]|{T0.UtcTicks}|2025-03-14 07:26:53.123|{{ \"spaced\" :  true }}"],
            await StringsAsync(
                database,
                "SELECT state || '|' || tags || '|' || next_attempt || '|' || to_char(rulemail_time(next_attempt) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') || '|' || security_json FROM message;"));
        Assert.Equal(["webhook|skipped"], await StringsAsync(database, "SELECT kind || '|' || state FROM side_effect;"));
        Assert.Equal(["held|[\"main\"]"], await StringsAsync(database, "SELECT state || '|' || delivered FROM outbox;"));
    }

    /// <summary>Starts both at the same moment; each one's exception, or null when it succeeded.</summary>
    private static async Task<Exception?[]> RaceAsync(Func<Task> one, Func<Task> other)
    {
        using var start = new SemaphoreSlim(0);
        var racers = new[] { one, other }.Select(run => Task.Run(async () =>
        {
            await start.WaitAsync();
            try
            {
                await run();
                return null;
            }
            catch (Exception e)
            {
                return e;
            }
        })).ToList();
        start.Release(racers.Count);
        return await Task.WhenAll(racers);
    }

    private static async Task<IReadOnlyList<int>> AppliedAsync(string database)
    {
        await using var dataSource = NpgsqlDataSource.Create(database);
        return await PostgresSchema.AppliedAsync(dataSource, Ct);
    }

    /// <summary>Each row's first column as text (a statement without rows gives none).</summary>
    private static async Task<List<string>> StringsAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty);
        }

        return rows;
    }
}
