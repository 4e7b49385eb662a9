using System.Globalization;
using Microsoft.Data.Sqlite;
using RuleMail.Core.Tests.Support;
using RuleMail.Host.State;

namespace RuleMail.Host.Tests.State;

/// <summary>The SQLite state store: every field round-trips, upserts and idempotency keys, due and count queries, files shared and reopened.</summary>
public sealed class SqliteStateStoreTests
{
    private const string Account = "support";
    private const string Folder = "INBOX";

    /// <summary>Not UTC and with sub-millisecond ticks: the store must keep the instant exactly.</summary>
    private static readonly DateTimeOffset T0 = new DateTimeOffset(2025, 3, 14, 9, 26, 53, TimeSpan.FromHours(2)).AddTicks(1234567);

    private static readonly CancellationToken Ct = CancellationToken.None;

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
    public async Task Every_field_of_a_ledger_entry_round_trips()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        var full = Entry("7:42") with
        {
            UidValidity = uint.MaxValue,
            Uid = uint.MaxValue - 1,
            MessageId = "<abc@example.org>",
            State = MessageState.Retry,
            Attempts = 3,
            NextAttempt = T0.AddMinutes(5),
            Error = "webhook: 503 Service Unavailable",
            SecurityJson = """{"signature":{"status":"valid"}}""",
            DecisionJson = """{"tags":["vip"],"move":"Archive"}""",
            Tags = ["vip", "ÄÖÜ \"quoted\"", "with,comma"],
            Subject = "Grüße — \u2603",
            From = "Alice <alice@example.org>",
            FirstSeen = T0,
            UpdatedAt = T0.AddSeconds(1),
        };
        var bare = new LedgerEntry
        {
            Account = Account,
            Folder = Folder,
            SourceKey = "1700000000.M1P2.host,S=10:2,S",
            ContentHash = new string('0', 64),
            State = MessageState.Processing,
            FirstSeen = T0,
            UpdatedAt = T0,
        };
        await store.RecordAsync(full, [], Ct);
        await store.RecordAsync(bare, [], Ct);

        var found = await store.FindMessagesAsync(Account, Folder, [full.SourceKey, bare.SourceKey], Ct);

        AssertSame(full, found[full.SourceKey]);
        AssertSame(bare, found[bare.SourceKey]);
        Assert.Null(found[bare.SourceKey].UidValidity);
        Assert.Null(found[bare.SourceKey].NextAttempt);
        Assert.Empty(found[bare.SourceKey].Tags);
        Assert.Equal(T0.Ticks - T0.Offset.Ticks, found[full.SourceKey].FirstSeen.UtcTicks);
        Assert.Equal(TimeSpan.Zero, found[full.SourceKey].FirstSeen.Offset);
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
            await store.SaveOutboxAsync(Outbox("out.eml") with { State = OutboxState.Held }, Ct);
        }

        Assert.Equal(
            ["retry", "2025-03-14T07:26:53.1234567+00:00", "[\"a\",\"b\"]"],
            Strings(path, "SELECT state, next_attempt, tags FROM message;").Single().Split('|'));
        Assert.Equal(["webhook|skipped"], Strings(path, "SELECT kind, state FROM side_effect;"));
        Assert.Equal(["held"], Strings(path, "SELECT state FROM outbox;"));
    }

    [Fact]
    public async Task Recording_an_entry_again_replaces_every_column_but_first_seen()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        var first = Entry("7:1") with { Subject = "old", Tags = ["old"], Error = "old error", NextAttempt = T0 };
        await store.RecordAsync(first, [], Ct);
        var second = first with
        {
            UidValidity = 8,
            Uid = 99,
            MessageId = "<new@example.org>",
            ContentHash = new string('f', 64),
            State = MessageState.Done,
            Attempts = 7,
            NextAttempt = null,
            Error = null,
            SecurityJson = """{"new":true}""",
            DecisionJson = """{"new":true}""",
            Tags = [],
            Subject = "new",
            From = "new@example.org",
            FirstSeen = T0.AddDays(1),
            UpdatedAt = T0.AddDays(2),
        };

        await store.RecordAsync(second, [], Ct);

        var stored = Assert.Single(await store.FindMessagesAsync(Account, Folder, ["7:1"], Ct)).Value;
        AssertSame(second with { FirstSeen = first.FirstSeen }, stored);
    }

    [Fact]
    public async Task Side_effects_recorded_twice_are_not_doubled_and_keep_their_state()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        var entry = Entry("7:1");
        SideEffect[] plan = [Effect("7:1", 0), Effect("7:1", 1, SideEffectKind.Webhook), Effect("7:1", 2, SideEffectKind.Move)];
        await store.RecordAsync(entry, plan, Ct);
        await store.UpdateSideEffectAsync(
            plan[1] with { State = SideEffectState.Done, Attempts = 2, Detail = "200 OK", UpdatedAt = T0.AddMinutes(1) }, Ct);

        // The same plan again (a crash before the entry was updated), with changed fields and one new step.
        SideEffect[] again =
        [
            .. plan.Select(e => e with { Target = "changed", Payload = "changed", Attempts = 9 }),
            Effect("7:1", 3, SideEffectKind.Notify),
        ];
        await store.RecordAsync(entry with { Attempts = 1 }, again, Ct);
        await store.RecordAsync(entry with { Attempts = 2 }, again, Ct);

        var effects = await store.SideEffectsAsync(Account, Folder, "7:1", Ct);
        Assert.Equal(4, effects.Count);
        AssertSame(plan[0], effects[0]);
        AssertSame(
            plan[1] with { State = SideEffectState.Done, Attempts = 2, Detail = "200 OK", UpdatedAt = T0.AddMinutes(1) },
            effects[1]);
        AssertSame(plan[2], effects[2]);
        AssertSame(again[3], effects[3]);
        Assert.Equal(1L, Scalar(store.Path, "SELECT COUNT(*) FROM message;"));
        Assert.Equal(2, (await store.FindMessagesAsync(Account, Folder, ["7:1"], Ct))["7:1"].Attempts);
    }

    [Fact]
    public async Task Side_effects_come_back_in_plan_order_with_every_field()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        var move = Effect("7:1", 3, SideEffectKind.Move) with { Payload = null, Detail = null };
        var webhook = Effect("7:1", 1, SideEffectKind.Webhook) with
        {
            Payload = """{"event":"message"}""",
            State = SideEffectState.Failed,
            Attempts = 4,
            Detail = "400 Bad Request",
            UpdatedAt = T0.AddHours(1),
        };
        var keyword = Effect("7:1", 0, SideEffectKind.Keyword) with { State = SideEffectState.Skipped, Detail = "POP3 has no keywords" };
        var notify = Effect("7:1", 2, SideEffectKind.Notify) with { State = SideEffectState.Done };
        await store.RecordAsync(Entry("7:1"), [move, webhook, keyword, notify], Ct);
        await store.RecordAsync(Entry("7:2"), [Effect("7:2", 0)], Ct);

        var effects = await store.SideEffectsAsync(Account, Folder, "7:1", Ct);

        Assert.Equal(4, effects.Count);
        AssertSame(keyword, effects[0]);
        AssertSame(webhook, effects[1]);
        AssertSame(notify, effects[2]);
        AssertSame(move, effects[3]);
        Assert.Empty(await store.SideEffectsAsync(Account, Folder, "7:404", Ct));
        Assert.Empty(await store.SideEffectsAsync(Account, "Archive", "7:1", Ct));
    }

    [Fact]
    public async Task A_plan_step_of_another_message_is_refused_and_nothing_is_written()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);

        await Assert.ThrowsAsync<ArgumentException>(
            () => store.RecordAsync(Entry("7:1"), [Effect("7:1", 0), Effect("7:2", 1)], Ct));

        Assert.Empty(await store.FindMessagesAsync(Account, Folder, ["7:1"], Ct));
        Assert.Empty(await store.SideEffectsAsync(Account, Folder, "7:1", Ct));
    }

    [Fact]
    public async Task A_failing_record_rolls_back_the_entry_and_every_side_effect()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        await store.RecordAsync(Entry("7:1") with { Subject = "before" }, [Effect("7:1", 0)], Ct);

        // The third step breaks NOT NULL: the new subject and the second step must not stay behind.
        await Assert.ThrowsAsync<SqliteException>(() => store.RecordAsync(
            Entry("7:1") with { Subject = "after" },
            [Effect("7:1", 0), Effect("7:1", 1), Effect("7:1", 2) with { Target = null! }],
            Ct));

        Assert.Equal("before", (await store.FindMessagesAsync(Account, Folder, ["7:1"], Ct))["7:1"].Subject);
        Assert.Single(await store.SideEffectsAsync(Account, Folder, "7:1", Ct));

        // The store is still usable afterwards.
        await store.RecordAsync(Entry("7:1") with { Subject = "after" }, [Effect("7:1", 1)], Ct);
        Assert.Equal(2, (await store.SideEffectsAsync(Account, Folder, "7:1", Ct)).Count);
    }

    [Fact]
    public async Task Update_message_changes_state_attempts_next_attempt_error_and_updated_at_only()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        var entry = Entry("7:1") with { Subject = "kept", Tags = ["kept"], NextAttempt = T0 };
        await store.RecordAsync(entry, [], Ct);
        var update = entry with
        {
            State = MessageState.Failed,
            Attempts = 5,
            NextAttempt = null,
            Error = "poison: unparseable",
            UpdatedAt = T0.AddHours(3),
            Subject = "ignored",
            Tags = ["ignored"],
            FirstSeen = T0.AddYears(1),
        };

        await store.UpdateMessageAsync(update, Ct);

        var stored = (await store.FindMessagesAsync(Account, Folder, ["7:1"], Ct))["7:1"];
        AssertSame(
            entry with
            {
                State = MessageState.Failed,
                Attempts = 5,
                NextAttempt = null,
                Error = "poison: unparseable",
                UpdatedAt = T0.AddHours(3),
            },
            stored);

        await store.UpdateMessageAsync(stored with { State = MessageState.Retry, NextAttempt = T0.AddDays(1), Error = null }, Ct);
        stored = (await store.FindMessagesAsync(Account, Folder, ["7:1"], Ct))["7:1"];
        Assert.Equal(MessageState.Retry, stored.State);
        Assert.Equal(T0.AddDays(1), stored.NextAttempt);
        Assert.Null(stored.Error);
    }

    [Fact]
    public async Task Updating_what_was_never_recorded_throws()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        await store.RecordAsync(Entry("7:1"), [Effect("7:1", 0)], Ct);

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.UpdateMessageAsync(Entry("7:2"), Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.UpdateMessageAsync(Entry("7:1") with { Folder = "Archive" }, Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.UpdateSideEffectAsync(Effect("7:1", 1), Ct));
    }

    [Fact]
    public async Task Update_side_effect_changes_state_attempts_detail_and_updated_at_only()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        var effect = Effect("7:1", 0, SideEffectKind.Webhook);
        var other = Effect("7:1", 1, SideEffectKind.Move);
        await store.RecordAsync(Entry("7:1"), [effect, other], Ct);

        await store.UpdateSideEffectAsync(
            effect with
            {
                State = SideEffectState.Failed,
                Attempts = 3,
                Detail = "410 Gone",
                UpdatedAt = T0.AddMinutes(9),
                Target = "https://ignored.example/",
                Payload = "ignored",
                Order = 7,
            },
            Ct);

        var effects = await store.SideEffectsAsync(Account, Folder, "7:1", Ct);
        AssertSame(
            effect with { State = SideEffectState.Failed, Attempts = 3, Detail = "410 Gone", UpdatedAt = T0.AddMinutes(9) },
            effects[0]);
        AssertSame(other, effects[1]);

        await store.UpdateSideEffectAsync(effects[0] with { State = SideEffectState.Done, Detail = null }, Ct);
        Assert.Null((await store.SideEffectsAsync(Account, Folder, "7:1", Ct))[0].Detail);
    }

    [Fact]
    public async Task Due_messages_are_processing_or_retry_entries_whose_time_has_come_in_uid_order()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        var now = T0.AddHours(1);
        LedgerEntry[] entries =
        [
            Entry("a") with { Uid = 30, State = MessageState.Processing, NextAttempt = null },
            Entry("b") with { Uid = 10, State = MessageState.Retry, NextAttempt = now.AddTicks(-1).ToOffset(TimeSpan.FromHours(14)) },
            Entry("c") with { Uid = 20, State = MessageState.Retry, NextAttempt = now },

            // The same instant as now, written in another offset: compared as instants, not as local text.
            Entry("d") with { Uid = 25, State = MessageState.Retry, NextAttempt = now.ToOffset(TimeSpan.FromHours(-8)) },

            // Later than now, though its local text sorts earlier.
            Entry("e") with { Uid = 26, State = MessageState.Retry, NextAttempt = now.AddSeconds(1).ToOffset(TimeSpan.FromHours(-11)) },
            Entry("f") with { Uid = 1, State = MessageState.Retry, NextAttempt = now.AddTicks(1) },
            Entry("g") with { Uid = 2, State = MessageState.Done, NextAttempt = null },
            Entry("h") with { Uid = 3, State = MessageState.Failed, NextAttempt = now.AddDays(-1) },
            Entry("i") with { Uid = null, State = MessageState.Processing, FirstSeen = T0.AddMinutes(2) },
            Entry("j") with { Uid = null, State = MessageState.Retry, FirstSeen = T0.AddMinutes(1), NextAttempt = now.AddDays(-1) },
            Entry("k") with { Uid = 40, State = MessageState.Processing, NextAttempt = now.AddDays(-1) },
            Entry("l") with { Folder = "Archive", State = MessageState.Processing },
            Entry("m") with { Account = "sales", State = MessageState.Retry, NextAttempt = now.AddDays(-1) },
        ];
        foreach (var entry in entries)
        {
            await store.RecordAsync(entry, [], Ct);
        }

        var due = await store.DueMessagesAsync(Account, Folder, now, Ct);

        Assert.Equal(["j", "i", "b", "c", "d", "a", "k"], due.Select(e => e.SourceKey));

        // A year earlier only the entries without a next attempt are due.
        Assert.Equal(["i", "a"], (await store.DueMessagesAsync(Account, Folder, T0.AddYears(-1), Ct)).Select(e => e.SourceKey));
        Assert.Equal(["l"], (await store.DueMessagesAsync(Account, "Archive", now, Ct)).Select(e => e.SourceKey));
        Assert.Empty(await store.DueMessagesAsync("nobody", Folder, now, Ct));
    }

    [Fact]
    public async Task A_due_entry_leaves_the_due_list_when_updated_to_done_or_a_later_retry()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        var a = Entry("a") with { Uid = 1 };
        var b = Entry("b") with { Uid = 2 };
        await store.RecordAsync(a, [], Ct);
        await store.RecordAsync(b, [], Ct);
        Assert.Equal(2, (await store.DueMessagesAsync(Account, Folder, T0, Ct)).Count);

        await store.UpdateMessageAsync(a with { State = MessageState.Done }, Ct);
        await store.UpdateMessageAsync(b with { State = MessageState.Retry, Attempts = 1, NextAttempt = T0.AddMinutes(10) }, Ct);

        Assert.Empty(await store.DueMessagesAsync(Account, Folder, T0.AddMinutes(9), Ct));
        var due = Assert.Single(await store.DueMessagesAsync(Account, Folder, T0.AddMinutes(10), Ct));
        Assert.Equal("b", due.SourceKey);
        Assert.Equal(1, due.Attempts);
    }

    [Fact]
    public async Task Content_hash_lookup_finds_the_message_under_its_old_key_in_the_same_folder_only()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        var hash = new string('a', 64);
        await store.RecordAsync(Entry("7:5") with { ContentHash = hash, FirstSeen = T0.AddMinutes(1) }, [], Ct);
        await store.RecordAsync(Entry("7:3") with { ContentHash = hash, FirstSeen = T0 }, [], Ct);
        await store.RecordAsync(Entry("7:4") with { ContentHash = new string('b', 64) }, [], Ct);
        await store.RecordAsync(Entry("9:9") with { Folder = "Archive", ContentHash = new string('c', 64) }, [], Ct);

        var found = await store.FindByContentHashAsync(Account, Folder, hash, Ct);

        Assert.NotNull(found);
        Assert.Equal("7:3", found.SourceKey);
        Assert.Equal("7:4", (await store.FindByContentHashAsync(Account, Folder, new string('b', 64), Ct))?.SourceKey);
        Assert.Null(await store.FindByContentHashAsync(Account, Folder, new string('c', 64), Ct));
        Assert.Null(await store.FindByContentHashAsync("sales", Folder, hash, Ct));
        Assert.Null(await store.FindByContentHashAsync(Account, Folder, new string('d', 64), Ct));
    }

    [Fact]
    public async Task Finding_thousands_of_keys_returns_exactly_the_known_ones()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        const int known = 2000;
        for (var uid = 1; uid <= known; uid++)
        {
            await store.RecordAsync(Entry(Key(uid)) with { Uid = (uint)uid }, [], Ct);
        }

        await store.RecordAsync(Entry(Key(1)) with { Folder = "Archive", Subject = "other folder" }, [], Ct);
        await store.RecordAsync(Entry("x'); DROP TABLE message; --"), [], Ct);

        // Every known key, 600 unknown ones and some duplicates, in no particular order.
        var asked = Enumerable.Range(1, known + 600).Select(Key)
            .Concat(Enumerable.Range(1, 50).Select(Key))
            .Append("x'); DROP TABLE message; --")
            .Append("$k0")
            .OrderBy(k => k.GetHashCode(StringComparison.Ordinal))
            .ToList();

        var found = await store.FindMessagesAsync(Account, Folder, asked, Ct);

        Assert.Equal(known + 1, found.Count);
        for (var uid = 1; uid <= known; uid++)
        {
            var entry = found[Key(uid)];
            Assert.Equal(Key(uid), entry.SourceKey);
            Assert.Equal((uint)uid, entry.Uid);
            Assert.Equal(Folder, entry.Folder);
        }

        Assert.Contains("x'); DROP TABLE message; --", found.Keys);
        Assert.DoesNotContain(Key(known + 1), found.Keys);
        Assert.Empty(await store.FindMessagesAsync(Account, Folder, [], Ct));
        Assert.Empty(await store.FindMessagesAsync("sales", Folder, asked, Ct));

        static string Key(int uid) => "7:" + uid.ToString(CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Cursors_are_inserted_replaced_and_kept_per_account_and_folder()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        Assert.Null(await store.GetCursorAsync(Account, Folder, Ct));

        await store.SetCursorAsync(new FolderCursor(Account, Folder, 7, 42), Ct);
        await store.SetCursorAsync(new FolderCursor(Account, "Archive", 3, 4), Ct);
        await store.SetCursorAsync(new FolderCursor("sales", Folder, 1, 2), Ct);
        Assert.Equal(new FolderCursor(Account, Folder, 7, 42), await store.GetCursorAsync(Account, Folder, Ct));

        await store.SetCursorAsync(new FolderCursor(Account, Folder, uint.MaxValue, uint.MaxValue - 1), Ct);

        Assert.Equal(new FolderCursor(Account, Folder, uint.MaxValue, uint.MaxValue - 1), await store.GetCursorAsync(Account, Folder, Ct));
        Assert.Equal(new FolderCursor(Account, "Archive", 3, 4), await store.GetCursorAsync(Account, "Archive", Ct));
        Assert.Equal(new FolderCursor("sales", Folder, 1, 2), await store.GetCursorAsync("sales", Folder, Ct));
        Assert.Null(await store.GetCursorAsync("sales", "Archive", Ct));
        Assert.Equal(3L, Scalar(store.Path, "SELECT COUNT(*) FROM folder_cursor;"));
    }

    [Fact]
    public async Task Outbox_entries_are_saved_replaced_and_found_by_account_file_and_content()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        var hash = new string('1', 64);
        Assert.Null(await store.FindOutboxAsync(Account, "reply.eml", hash, Ct));

        var queued = new OutboxEntry
        {
            Account = Account,
            FileName = "reply.eml",
            ContentHash = hash,
            State = OutboxState.Queued,
            UpdatedAt = T0,
        };
        await store.SaveOutboxAsync(queued, Ct);
        AssertSame(queued, await store.FindOutboxAsync(Account, "reply.eml", hash, Ct));

        var failed = queued with
        {
            MessageId = "<reply@example.org>",
            State = OutboxState.Failed,
            Reason = "SMTP 451: try again later",
            Attempts = 4,
            NextAttempt = T0.AddMinutes(30),
            UpdatedAt = T0.AddMinutes(1),
            Delivered = ["main", "bcc:carol@both.test"],
        };
        await store.SaveOutboxAsync(failed, Ct);
        AssertSame(failed, await store.FindOutboxAsync(Account, "reply.eml", hash, Ct));

        Assert.Equal("""["main","bcc:carol@both.test"]""", Scalar(store.Path, "SELECT delivered FROM outbox;")); // Readable in sqlite3.

        var sent = failed with { State = OutboxState.Sent, Reason = "signed and encrypted with S/MIME", NextAttempt = null, Delivered = ["main", "bcc:carol@both.test", "bcc:dave@expired.test"] };
        await store.SaveOutboxAsync(sent, Ct);
        AssertSame(sent, await store.FindOutboxAsync(Account, "reply.eml", hash, Ct));

        // The same file name with other content is another message; other accounts are separate.
        var rewritten = queued with { ContentHash = new string('2', 64), State = OutboxState.Held, Reason = "no certificate for bob" };
        await store.SaveOutboxAsync(rewritten, Ct);
        AssertSame(rewritten, await store.FindOutboxAsync(Account, "reply.eml", new string('2', 64), Ct));
        AssertSame(sent, await store.FindOutboxAsync(Account, "reply.eml", hash, Ct));
        Assert.Null(await store.FindOutboxAsync("sales", "reply.eml", hash, Ct));
        Assert.Null(await store.FindOutboxAsync(Account, "other.eml", hash, Ct));

        await store.SaveOutboxAsync(sent with { State = OutboxState.Sending }, Ct);
        Assert.Equal(OutboxState.Sending, (await store.FindOutboxAsync(Account, "reply.eml", hash, Ct))?.State);
        Assert.Equal(2L, Scalar(store.Path, "SELECT COUNT(*) FROM outbox;"));
    }

    [Fact]
    public async Task Outbox_counts_are_by_account_and_state_and_leave_out_states_without_entries()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        Assert.Empty(await store.CountOutboxAsync(Ct));

        await store.SaveOutboxAsync(Outbox("a.eml") with { State = OutboxState.Held }, Ct);
        await store.SaveOutboxAsync(Outbox("b.eml") with { State = OutboxState.Held }, Ct);
        await store.SaveOutboxAsync(Outbox("c.eml") with { State = OutboxState.Failed }, Ct);
        await store.SaveOutboxAsync(Outbox("d.eml") with { State = OutboxState.Sent }, Ct);
        await store.SaveOutboxAsync(Outbox("a.eml") with { Account = "sales", State = OutboxState.Failed }, Ct);

        Assert.Equal(
            [
                new OutboxCount("sales", OutboxState.Failed, 1),
                new OutboxCount(Account, OutboxState.Failed, 1),
                new OutboxCount(Account, OutboxState.Held, 2),
                new OutboxCount(Account, OutboxState.Sent, 1),
            ],
            await store.CountOutboxAsync(Ct));
    }

    [Fact]
    public async Task Counts_cover_every_state_of_the_account_with_zero_for_none()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);

        var empty = await store.CountMessagesAsync(Account, Ct);
        Assert.Equal(Enum.GetValues<MessageState>(), empty.Keys.Order());
        Assert.All(empty.Values, count => Assert.Equal(0, count));

        await store.RecordAsync(Entry("1") with { State = MessageState.Done }, [], Ct);
        await store.RecordAsync(Entry("2") with { State = MessageState.Done }, [], Ct);
        await store.RecordAsync(Entry("3") with { State = MessageState.Done, Folder = "Archive" }, [], Ct);
        await store.RecordAsync(Entry("4") with { State = MessageState.Retry }, [], Ct);
        await store.RecordAsync(Entry("5") with { State = MessageState.Failed, Folder = "POP3" }, [], Ct);
        await store.RecordAsync(Entry("6") with { State = MessageState.Processing, Account = "sales" }, [], Ct);
        await store.UpdateMessageAsync(Entry("2") with { State = MessageState.Failed }, Ct);

        var counts = await store.CountMessagesAsync(Account, Ct);

        Assert.Equal(4, counts.Count);
        Assert.Equal(0, counts[MessageState.Processing]);
        Assert.Equal(1, counts[MessageState.Retry]);
        Assert.Equal(2, counts[MessageState.Done]);
        Assert.Equal(2, counts[MessageState.Failed]);
        Assert.Equal(1, (await store.CountMessagesAsync("sales", Ct))[MessageState.Processing]);
    }

    [Fact]
    public async Task A_reopened_store_sees_everything_committed_before()
    {
        using var dir = new TempDirectory("state");
        var path = dir.File("state.db");
        var entry = Entry("7:1") with { Tags = ["t"], NextAttempt = T0 };
        var effect = Effect("7:1", 0);
        var outbox = Outbox("out.eml");
        await using (var store = await SqliteStateStore.OpenAsync(path, Ct))
        {
            await store.SetCursorAsync(new FolderCursor(Account, Folder, 7, 1), Ct);
            await store.RecordAsync(entry, [effect], Ct);
            await store.SaveOutboxAsync(outbox, Ct);
        }

        await using (var store = await SqliteStateStore.OpenAsync(path, Ct))
        {
            Assert.Equal(new FolderCursor(Account, Folder, 7, 1), await store.GetCursorAsync(Account, Folder, Ct));
            AssertSame(entry, (await store.FindMessagesAsync(Account, Folder, ["7:1"], Ct))["7:1"]);
            AssertSame(effect, Assert.Single(await store.SideEffectsAsync(Account, Folder, "7:1", Ct)));
            AssertSame(outbox, await store.FindOutboxAsync(Account, outbox.FileName, outbox.ContentHash, Ct));
        }
    }

    [Fact]
    public async Task Two_stores_on_one_file_see_each_others_commits_and_can_write_at_once()
    {
        using var dir = new TempDirectory("state");
        var path = dir.File("state.db");
        await using var first = await SqliteStateStore.OpenAsync(path, Ct);
        await using var second = await SqliteStateStore.OpenAsync(path, Ct);

        await first.RecordAsync(Entry("7:1"), [Effect("7:1", 0)], Ct);
        Assert.Single(await second.FindMessagesAsync(Account, Folder, ["7:1"], Ct));
        Assert.Single(await second.SideEffectsAsync(Account, Folder, "7:1", Ct));

        await second.UpdateMessageAsync(Entry("7:1") with { State = MessageState.Done }, Ct);
        await second.SetCursorAsync(new FolderCursor(Account, Folder, 7, 1), Ct);
        Assert.Equal(MessageState.Done, (await first.FindMessagesAsync(Account, Folder, ["7:1"], Ct))["7:1"].State);
        Assert.Equal(new FolderCursor(Account, Folder, 7, 1), await first.GetCursorAsync(Account, Folder, Ct));

        // Both write at the same time: the busy timeout makes one wait for the other.
        var writers = new[] { first, second }.Select((store, n) => Task.Run(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                var key = $"{n}:{i}";
                await store.RecordAsync(Entry(key), [Effect(key, 0)], Ct);
            }
        }));
        await Task.WhenAll(writers);

        Assert.Equal(201, (await first.CountMessagesAsync(Account, Ct)).Values.Sum());
        Assert.Equal(201, (await second.CountMessagesAsync(Account, Ct)).Values.Sum());
        Assert.Equal(201L, Scalar(path, "SELECT COUNT(*) FROM side_effect;"));
    }

    [Fact]
    public async Task Concurrent_records_on_one_store_all_land()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        const int tasks = 16;
        const int perTask = 25;

        var work = Enumerable.Range(0, tasks).Select(t => Task.Run(async () =>
        {
            var account = "account" + t.ToString(CultureInfo.InvariantCulture);
            for (var i = 0; i < perTask; i++)
            {
                var key = "7:" + i.ToString(CultureInfo.InvariantCulture);
                var entry = Entry(key) with { Account = account };
                await store.RecordAsync(entry, [Effect(key, 0) with { Account = account, IdempotencyKey = $"{account}/{key}/0" }], Ct);
                _ = await store.FindMessagesAsync(account, Folder, [key], Ct);
                _ = await store.DueMessagesAsync(account, Folder, T0, Ct);
                await store.UpdateMessageAsync(entry with { State = MessageState.Done }, Ct);
            }
        }));
        await Task.WhenAll(work);

        Assert.Equal((long)tasks * perTask, Scalar(store.Path, "SELECT COUNT(*) FROM message WHERE state = 'done';"));
        Assert.Equal((long)tasks * perTask, Scalar(store.Path, "SELECT COUNT(*) FROM side_effect;"));
        Assert.Equal(perTask, (await store.CountMessagesAsync("account3", Ct))[MessageState.Done]);
    }

    [Fact]
    public async Task A_disposed_store_refuses_calls_and_may_be_disposed_twice()
    {
        using var dir = new TempDirectory("state");
        var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        await store.DisposeAsync();
        await store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.GetCursorAsync(Account, Folder, Ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.RecordAsync(Entry("7:1"), [], Ct));
    }

    private static LedgerEntry Entry(string sourceKey) => new()
    {
        Account = Account,
        Folder = Folder,
        SourceKey = sourceKey,
        UidValidity = 7,
        Uid = 1,
        MessageId = $"<{sourceKey}@example.org>",
        ContentHash = new string('e', 64),
        State = MessageState.Processing,
        SecurityJson = "{}",
        DecisionJson = "{}",
        Tags = ["support"],
        Subject = "Hello",
        From = "alice@example.org",
        FirstSeen = T0,
        UpdatedAt = T0,
    };

    private static SideEffect Effect(string sourceKey, int order, SideEffectKind kind = SideEffectKind.Keyword) => new()
    {
        IdempotencyKey = $"{Account}/{Folder}/{sourceKey}/{order.ToString(CultureInfo.InvariantCulture)}",
        Account = Account,
        Folder = Folder,
        SourceKey = sourceKey,
        Order = order,
        Kind = kind,
        Target = kind == SideEffectKind.Webhook ? "https://hooks.example/in" : "$Label1",
        Payload = """{"n":1}""",
        State = SideEffectState.Pending,
        Attempts = 0,
        Detail = "planned",
        UpdatedAt = T0,
    };

    private static OutboxEntry Outbox(string fileName) => new()
    {
        Account = Account,
        FileName = fileName,
        ContentHash = new string('9', 64),
        MessageId = "<out@example.org>",
        State = OutboxState.Queued,
        Reason = "waiting",
        Attempts = 1,
        NextAttempt = T0.AddMinutes(1),
        UpdatedAt = T0,
    };

    /// <summary>Field by field: records compare <see cref="LedgerEntry.Tags"/> by reference.</summary>
    private static void AssertSame(LedgerEntry expected, LedgerEntry actual)
    {
        Assert.Equal(expected with { Tags = [] }, actual with { Tags = [] });
        Assert.Equal(expected.Tags, actual.Tags);
    }

    private static void AssertSame(SideEffect expected, SideEffect actual) => Assert.Equal(expected, actual);

    /// <summary>Field by field: records compare <see cref="OutboxEntry.Delivered"/> by reference.</summary>
    private static void AssertSame(OutboxEntry expected, OutboxEntry? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected with { Delivered = [] }, actual with { Delivered = [] });
        Assert.Equal(expected.Delivered, actual.Delivered);
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
