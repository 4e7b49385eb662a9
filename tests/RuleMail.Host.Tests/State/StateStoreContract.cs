using System.Data.Common;
using System.Globalization;
using RuleMail.Host.State;

namespace RuleMail.Host.Tests.State;

/// <summary>
/// What every <see cref="IStateStore"/> does, run once per backend (MimeKit's <c>SecureMimeTestsBase</c> pattern):
/// <see cref="SqliteStateStoreContractTests"/> and <see cref="PostgresStateStoreContractTests"/>. Only the interface is
/// used here; what one backend alone does (SQLite's file, WAL and upgrades, PostgreSQL's migrations and races between
/// nodes) is tested beside it. Every field round-trips, upserts and idempotency keys hold, analyses are versions, due,
/// count, listing, outbox and token queries answer alike, and two stores on one state see each other's commits.
/// </summary>
/// <remarks>
/// Times keep their 100 ns ticks on both backends (the instants below have sub-microsecond ticks on purpose):
/// PostgreSQL stores them as UTC ticks, not as its microsecond <c>timestamptz</c>.
/// </remarks>
public abstract class StateStoreContract
{
    internal const string Account = "support";
    internal const string Folder = "INBOX";
    internal const string Failed = """{"type":"S/MIME","sign":{"success":false,"comment":"Unable to find certificate for validation"},"encryption":null}""";
    internal const string Passed = """{"type":"S/MIME","sign":{"success":true,"comment":"Signed by alice@customer.test"},"encryption":null}""";
    internal const string Undecryptable = """{"type":"S/MIME","sign":null,"encryption":{"success":false,"comment":"Unable to find private key to decrypt"}}""";
    internal const string Decrypted = """{"type":"S/MIME","sign":null,"encryption":{"success":true,"comment":"This message was encrypted for you"}}""";
    internal const string Plain = """{"type":null,"sign":null,"encryption":null}""";

    /// <summary>Not UTC and with sub-millisecond ticks: the store must keep the instant exactly.</summary>
    internal static readonly DateTimeOffset T0 = new DateTimeOffset(2025, 3, 14, 9, 26, 53, TimeSpan.FromHours(2)).AddTicks(1234567);

    internal static readonly CancellationToken Ct = CancellationToken.None;

    /// <summary>A store on a new, empty state of its own (each call another state).</summary>
    protected abstract Task<IStateStore> OpenEmptyAsync();

    /// <summary>Another store on the state the last <see cref="OpenEmptyAsync"/> made, as another process or node opens it.</summary>
    protected abstract Task<IStateStore> ReopenAsync();

    [Fact]
    public async Task Initialize_is_idempotent_and_a_reopened_store_keeps_the_data()
    {
        await using (var store = await OpenEmptyAsync())
        {
            await store.RecordAsync(Entry("7:1"), [Effect("7:1", 0)], Ct);
            await store.InitializeAsync(Ct);
            await store.InitializeAsync(Ct);
            await store.SealAsync(Ct);
        }

        await using (var store = await ReopenAsync())
        {
            Assert.Single(await store.FindMessagesAsync(Account, Folder, ["7:1"], Ct));
            Assert.Single(await store.SideEffectsAsync(Account, Folder, "7:1", Ct));
        }
    }

    [Fact]
    public async Task Every_field_of_a_ledger_entry_round_trips()
    {
        await using var store = await OpenEmptyAsync();
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
    public async Task Recording_an_entry_again_replaces_every_column_but_first_seen()
    {
        await using var store = await OpenEmptyAsync();
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
        await using var store = await OpenEmptyAsync();
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
        Assert.Equal(1, (await store.CountMessagesAsync(Account, Ct)).Values.Sum());
        Assert.Equal(2, (await store.FindMessagesAsync(Account, Folder, ["7:1"], Ct))["7:1"].Attempts);
    }

    [Fact]
    public async Task Side_effects_come_back_in_plan_order_with_every_field()
    {
        await using var store = await OpenEmptyAsync();
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
        await using var store = await OpenEmptyAsync();

        await Assert.ThrowsAsync<ArgumentException>(
            () => store.RecordAsync(Entry("7:1"), [Effect("7:1", 0), Effect("7:2", 1)], Ct));

        Assert.Empty(await store.FindMessagesAsync(Account, Folder, ["7:1"], Ct));
        Assert.Empty(await store.SideEffectsAsync(Account, Folder, "7:1", Ct));
    }

    [Fact]
    public async Task A_failing_record_rolls_back_the_entry_and_every_side_effect()
    {
        await using var store = await OpenEmptyAsync();
        await store.RecordAsync(Entry("7:1") with { Subject = "before" }, [Effect("7:1", 0)], Ct);

        // The third step breaks NOT NULL: the new subject and the second step must not stay behind.
        await Assert.ThrowsAnyAsync<DbException>(() => store.RecordAsync(
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
        await using var store = await OpenEmptyAsync();
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
        await using var store = await OpenEmptyAsync();
        await store.RecordAsync(Entry("7:1"), [Effect("7:1", 0)], Ct);

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.UpdateMessageAsync(Entry("7:2"), Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.UpdateMessageAsync(Entry("7:1") with { Folder = "Archive" }, Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.UpdateSideEffectAsync(Effect("7:1", 1), Ct));
    }

    [Fact]
    public async Task Update_side_effect_changes_state_attempts_detail_and_updated_at_only()
    {
        await using var store = await OpenEmptyAsync();
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
        await using var store = await OpenEmptyAsync();
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
        await using var store = await OpenEmptyAsync();
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
        await using var store = await OpenEmptyAsync();
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
        await using var store = await OpenEmptyAsync();
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
        await using var store = await OpenEmptyAsync();
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
    }

    [Fact]
    public async Task Outbox_entries_are_saved_replaced_and_found_by_account_file_and_content()
    {
        await using var store = await OpenEmptyAsync();
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
        Assert.Equal(2, (await store.FindOutboxByFileAsync(Account, "reply.eml", Ct)).Count);
    }

    [Fact]
    public async Task Outbox_counts_are_by_account_and_state_and_leave_out_states_without_entries()
    {
        await using var store = await OpenEmptyAsync();
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
        await using var store = await OpenEmptyAsync();

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
        var entry = Entry("7:1") with { Tags = ["t"], NextAttempt = T0 };
        var effect = Effect("7:1", 0);
        var outbox = Outbox("out.eml");
        await using (var store = await OpenEmptyAsync())
        {
            await store.SetCursorAsync(new FolderCursor(Account, Folder, 7, 1), Ct);
            await store.RecordAsync(entry, [effect], Ct);
            await store.SaveOutboxAsync(outbox, Ct);
        }

        await using (var store = await ReopenAsync())
        {
            Assert.Equal(new FolderCursor(Account, Folder, 7, 1), await store.GetCursorAsync(Account, Folder, Ct));
            AssertSame(entry, (await store.FindMessagesAsync(Account, Folder, ["7:1"], Ct))["7:1"]);
            AssertSame(effect, Assert.Single(await store.SideEffectsAsync(Account, Folder, "7:1", Ct)));
            AssertSame(outbox, await store.FindOutboxAsync(Account, outbox.FileName, outbox.ContentHash, Ct));
        }
    }

    [Fact]
    public async Task Two_stores_on_one_state_see_each_others_commits_and_can_write_at_once()
    {
        await using var first = await OpenEmptyAsync();
        await using var second = await ReopenAsync();

        await first.RecordAsync(Entry("7:1"), [Effect("7:1", 0)], Ct);
        Assert.Single(await second.FindMessagesAsync(Account, Folder, ["7:1"], Ct));
        Assert.Single(await second.SideEffectsAsync(Account, Folder, "7:1", Ct));

        await second.UpdateMessageAsync(Entry("7:1") with { State = MessageState.Done }, Ct);
        await second.SetCursorAsync(new FolderCursor(Account, Folder, 7, 1), Ct);
        Assert.Equal(MessageState.Done, (await first.FindMessagesAsync(Account, Folder, ["7:1"], Ct))["7:1"].State);
        Assert.Equal(new FolderCursor(Account, Folder, 7, 1), await first.GetCursorAsync(Account, Folder, Ct));

        // Both write at the same time (SQLite: the busy timeout makes one wait for the other).
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
        for (var n = 0; n < 2; n++)
        {
            for (var i = 0; i < 100; i++)
            {
                Assert.Single(await first.SideEffectsAsync(Account, Folder, $"{n}:{i}", Ct));
            }
        }
    }

    [Fact]
    public async Task Concurrent_records_on_one_store_all_land()
    {
        await using var store = await OpenEmptyAsync();
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

        for (var t = 0; t < tasks; t++)
        {
            var account = "account" + t.ToString(CultureInfo.InvariantCulture);
            var counts = await store.CountMessagesAsync(account, Ct);
            Assert.Equal(perTask, counts[MessageState.Done]);
            Assert.Equal(perTask, counts.Values.Sum());
            for (var i = 0; i < perTask; i++)
            {
                var effect = Assert.Single(await store.SideEffectsAsync(account, Folder, "7:" + i.ToString(CultureInfo.InvariantCulture), Ct));
                Assert.Equal($"{account}/7:{i}/0", effect.IdempotencyKey);
            }
        }
    }

    [Fact]
    public async Task A_disposed_store_refuses_calls_and_may_be_disposed_twice()
    {
        var store = await OpenEmptyAsync();
        await store.DisposeAsync();
        await store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.GetCursorAsync(Account, Folder, Ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.RecordAsync(Entry("7:1"), [], Ct));
    }

    [Fact]
    public async Task An_analysis_is_recorded_with_its_plan_once_and_only_as_the_next_version()
    {
        await using var store = await OpenEmptyAsync();
        var first = AnalysedEntry("7:1") with { AnalysisVersion = 1 };
        await store.RecordAnalysisAsync(first, Analysis("7:1", 1, Failed), [Planned("7:1", 1, SideEffectKind.Keyword, "security-failed")], Ct);

        var again = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            store.RecordAnalysisAsync(first, Analysis("7:1", 1, Failed), [Planned("7:1", 1, SideEffectKind.Webhook, "https://hooks.example/x")], Ct));
        var skipping = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            store.RecordAnalysisAsync(first with { AnalysisVersion = 3 }, Analysis("7:1", 3, Passed), [], Ct));
        await store.RecordAnalysisAsync(
            first with { AnalysisVersion = 2, SecurityJson = Passed, Location = new MessageLocation("Quarantine", "9:3", 9, 3) },
            Analysis("7:1", 2, Passed),
            [Planned("7:1", 2, SideEffectKind.RemoveKeyword, "security-failed"), Planned("7:1", 2, SideEffectKind.Move, "INBOX", order: 1)],
            Ct);

        Assert.Contains("at analysis 1", again.Message, StringComparison.Ordinal);
        Assert.Contains("analysis 3 cannot follow", skipping.Message, StringComparison.Ordinal);
        var entry = (await store.FindMessagesAsync(Account, "INBOX", ["7:1"], Ct))["7:1"];
        Assert.Equal((2, Passed), (entry.AnalysisVersion, entry.SecurityJson));
        Assert.Equal(new MessageLocation("Quarantine", "9:3", 9, 3), entry.Location);
        Assert.Equal([1, 2], (await store.AnalysesAsync(Account, "INBOX", "7:1", Ct)).Select(a => a.Version));
        Assert.Equal(
            [(1, SideEffectKind.Keyword), (2, SideEffectKind.RemoveKeyword), (2, SideEffectKind.Move)],
            (await store.SideEffectsAsync(Account, "INBOX", "7:1", Ct)).Select(e => (e.AnalysisVersion, e.Kind)));
    }

    [Fact]
    public async Task Analyses_that_planned_nothing_are_recorded_together_all_or_nothing()
    {
        await using var store = await OpenEmptyAsync();
        DoneAnalysis Done(string key, int version = 1) =>
            new(AnalysedEntry(key) with { AnalysisVersion = version, State = MessageState.Done, SecurityJson = Passed }, Analysis(key, version, Passed));
        await store.RecordDoneAnalysesAsync([Done("7:1"), Done("7:2"), Done("7:3")], Ct);

        // One of the next batch was judged meanwhile (7:2 is at analysis 1, so analysis 1 cannot follow): none is written.
        var conflict = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            store.RecordDoneAnalysesAsync([Done("7:4"), Done("7:2"), Done("7:5")], Ct));
        await store.RecordDoneAnalysesAsync([Done("7:1", version: 2)], Ct);
        await store.RecordDoneAnalysesAsync([], Ct);

        Assert.Contains("7:2", conflict.Message, StringComparison.Ordinal);
        var found = await store.FindMessagesAsync(Account, "INBOX", ["7:1", "7:2", "7:3", "7:4", "7:5"], Ct);
        Assert.Equal(["7:1", "7:2", "7:3"], found.Keys.Order(StringComparer.Ordinal));
        Assert.All(found.Values, e => Assert.Equal((MessageState.Done, Passed), (e.State, e.SecurityJson)));
        Assert.Equal(2, found["7:1"].AnalysisVersion);
        Assert.Equal([1, 2], (await store.AnalysesAsync(Account, "INBOX", "7:1", Ct)).Select(a => a.Version));
        Assert.Empty(await store.SideEffectsAsync(Account, "INBOX", "7:3", Ct));
    }

    [Fact]
    public async Task A_batch_of_done_analyses_refuses_an_unfinished_entry_or_one_message_twice_and_writes_nothing()
    {
        await using var store = await OpenEmptyAsync();
        var done = new DoneAnalysis(AnalysedEntry("7:1") with { AnalysisVersion = 1, State = MessageState.Done }, Analysis("7:1", 1, Passed));
        var processing = new DoneAnalysis(AnalysedEntry("7:2") with { AnalysisVersion = 1, State = MessageState.Processing }, Analysis("7:2", 1, Passed));

        var unfinished = await Assert.ThrowsAsync<ArgumentException>(() => store.RecordDoneAnalysesAsync([done, processing], Ct));
        var twice = await Assert.ThrowsAsync<ArgumentException>(() => store.RecordDoneAnalysesAsync([done, done], Ct));

        Assert.Contains("7:2 is Processing, not done", unfinished.Message, StringComparison.Ordinal);
        Assert.Contains("7:1 comes twice", twice.Message, StringComparison.Ordinal);
        Assert.Empty(await store.FindMessagesAsync(Account, "INBOX", ["7:1", "7:2"], Ct));
    }

    [Fact]
    public async Task A_plan_step_of_another_version_is_refused_and_nothing_is_written()
    {
        await using var store = await OpenEmptyAsync();

        await Assert.ThrowsAsync<ArgumentException>(() =>
            store.RecordAnalysisAsync(AnalysedEntry("7:1") with { AnalysisVersion = 1 }, Analysis("7:1", 1, Failed), [Planned("7:1", 2, SideEffectKind.Keyword, "x")], Ct));

        Assert.Empty(await store.FindMessagesAsync(Account, "INBOX", ["7:1"], Ct));
    }

    [Fact]
    public async Task A_done_move_records_where_the_message_is_and_its_folder_knows_it_under_the_new_key()
    {
        await using var store = await OpenEmptyAsync();
        var move = Planned("7:1", 1, SideEffectKind.Move, "Quarantine");
        await store.RecordAnalysisAsync(AnalysedEntry("7:1") with { AnalysisVersion = 1 }, Analysis("7:1", 1, Failed), [move], Ct);

        await store.RecordMoveAsync(move with { State = SideEffectState.Done, Attempts = 1 }, new MessageLocation("Quarantine", "9:3", 9, 3), Ct);

        var inQuarantine = await store.FindMessagesAsync(Account, "Quarantine", ["9:3", "9:4"], Ct);
        Assert.Equal("7:1", Assert.Single(inQuarantine, e => e.Key == "9:3").Value.SourceKey);
        Assert.Equal(new MessageLocation("Quarantine", "9:3", 9, 3), (await store.FindMessagesAsync(Account, "INBOX", ["7:1"], Ct))["7:1"].Location);
        Assert.Equal(SideEffectState.Done, Assert.Single(await store.SideEffectsAsync(Account, "INBOX", "7:1", Ct)).State);
    }

    [Fact]
    public async Task Recording_an_entry_without_an_analysis_keeps_its_version_and_location()
    {
        await using var store = await OpenEmptyAsync();
        var entry = AnalysedEntry("7:1") with { AnalysisVersion = 1, Location = new MessageLocation("Quarantine", "9:3", 9, 3) };
        await store.RecordAnalysisAsync(entry, Analysis("7:1", 1, Failed), [], Ct);

        await store.RecordAsync(entry with { AnalysisVersion = null, Location = null, Error = "again" }, [], Ct);

        var recorded = (await store.FindMessagesAsync(Account, "INBOX", ["7:1"], Ct))["7:1"];
        Assert.Equal((1, "again"), (recorded.AnalysisVersion, recorded.Error));
        Assert.Equal(entry.Location, recorded.Location);
    }

    [Fact]
    public async Task The_analysed_query_selects_by_account_key_and_failed_security_of_the_latest_analysis()
    {
        await using var store = await OpenEmptyAsync();
        await store.RecordAnalysisAsync(AnalysedEntry("7:1") with { AnalysisVersion = 1 }, Analysis("7:1", 1, Failed), [], Ct);
        await store.RecordAnalysisAsync(AnalysedEntry("7:2") with { AnalysisVersion = 1 }, Analysis("7:2", 1, Failed), [], Ct);
        await store.RecordAnalysisAsync(AnalysedEntry("7:2") with { AnalysisVersion = 2 }, Analysis("7:2", 2, Passed), [], Ct); // Now verifies.
        await store.RecordAnalysisAsync(AnalysedEntry("7:3") with { AnalysisVersion = 1 }, Analysis("7:3", 1, Undecryptable), [], Ct);
        await store.RecordAnalysisAsync(AnalysedEntry("7:9", "other") with { AnalysisVersion = 1 }, Analysis("7:9", 1, Failed, "other"), [], Ct);
        await store.RecordAsync(AnalysedEntry("7:4"), [], Ct); // Never analysed.

        async Task<IEnumerable<string>> Keys(LedgerQuery query) => (await store.AnalysedMessagesAsync(query, Ct)).Select(e => e.SourceKey);

        Assert.Equal(["7:1", "7:3"], await Keys(new LedgerQuery { Account = Account, SecurityFailed = true }));
        Assert.Equal(["7:1", "7:2", "7:3"], await Keys(new LedgerQuery { Account = Account }));
        Assert.Equal(["7:1", "7:3", "7:9"], (await Keys(new LedgerQuery { SecurityFailed = true })).Order(StringComparer.Ordinal));
        Assert.Equal(["7:2"], await Keys(new LedgerQuery { Account = Account, SourceKeys = ["7:2", "7:4", "7:99"] }));
        Assert.Empty(await Keys(new LedgerQuery { Account = Account, SourceKeys = ["7:2"], SecurityFailed = true }));
    }

    [Fact]
    public async Task Lists_are_newest_first_filtered_by_account_and_state_and_bounded_by_the_limit()
    {
        await using var store = await OpenEmptyAsync();
        await store.SaveOutboxAsync(OutboxOf("support", "a.eml", '1', OutboxState.Sent, T0), Ct);
        await store.SaveOutboxAsync(OutboxOf("support", "b.eml", '2', OutboxState.Held, T0.AddMinutes(2)), Ct);
        await store.SaveOutboxAsync(OutboxOf("sales", "c.eml", '3', OutboxState.Held, T0.AddMinutes(1)), Ct);
        await store.SaveOutboxAsync(OutboxOf("support", "d.eml", '4', OutboxState.Queued, T0.AddMinutes(3)), Ct);

        Assert.Equal(["d.eml", "b.eml", "c.eml", "a.eml"], FileNames(await store.ListOutboxAsync(null, null, 10, Ct)));
        Assert.Equal(["d.eml", "b.eml"], FileNames(await store.ListOutboxAsync(null, null, 2, Ct)));
        Assert.Equal(["b.eml", "c.eml"], FileNames(await store.ListOutboxAsync(null, OutboxState.Held, 10, Ct)));
        Assert.Equal(["b.eml"], FileNames(await store.ListOutboxAsync("support", OutboxState.Held, 10, Ct)));
        Assert.Equal(["d.eml", "b.eml", "a.eml"], FileNames(await store.ListOutboxAsync("support", null, 10, Ct)));
        Assert.Empty(await store.ListOutboxAsync("support", OutboxState.Failed, 10, Ct));
        Assert.Empty(await store.ListOutboxAsync("nobody", null, 10, Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.ListOutboxAsync(null, null, 0, Ct));
    }

    [Fact]
    public async Task By_file_name_every_content_and_account_is_found_newest_first_and_by_content_only_the_accounts()
    {
        await using var store = await OpenEmptyAsync();
        var old = OutboxOf("support", "reply.eml", '1', OutboxState.Sent, T0) with { MessageId = "<old@example.org>", Reason = "signed", Attempts = 2 };
        var reused = OutboxOf("support", "reply.eml", '2', OutboxState.Held, T0.AddMinutes(5));
        var other = OutboxOf("sales", "reply.eml", '1', OutboxState.Queued, T0.AddMinutes(1)) with { NextAttempt = T0.AddHours(1), Delivered = ["main"] };
        foreach (var entry in new[] { old, reused, other })
        {
            await store.SaveOutboxAsync(entry, Ct);
        }

        Assert.Equal(Comparable([reused, other, old]), Comparable(await store.FindOutboxByFileAsync(null, "reply.eml", Ct)));
        Assert.Equal(Comparable([reused, old]), Comparable(await store.FindOutboxByFileAsync("support", "reply.eml", Ct)));
        Assert.Empty(await store.FindOutboxByFileAsync(null, "other.eml", Ct));
        Assert.Equal(Comparable([old]), Comparable(await store.FindOutboxByContentAsync("support", new string('1', 64), Ct)));
        Assert.Equal(Comparable([other]), Comparable(await store.FindOutboxByContentAsync("sales", new string('1', 64), Ct)));
        Assert.Empty(await store.FindOutboxByContentAsync("support", new string('3', 64), Ct));
    }

    [Fact]
    public async Task A_token_made_or_revoked_through_another_store_is_seen_by_the_next_lookup()
    {
        await using var service = await OpenEmptyAsync();
        await using var cli = await ReopenAsync();
        var token = Token("zammad", 'a');

        // The first lookup opens the reader; it must not keep the answer (or a snapshot) it read then.
        Assert.Null(await service.FindTokenAsync(token.Sha256, Ct));
        Assert.True(await cli.AddTokenAsync(token, Ct));
        Assert.Equal(token, await service.FindTokenAsync(token.Sha256, Ct));

        Assert.True(await cli.RevokeTokenAsync("zammad", T0.AddHours(1), Ct));
        Assert.Equal(T0.AddHours(1), (await service.FindTokenAsync(token.Sha256, Ct))?.RevokedAt);
    }

    [Fact]
    public async Task A_token_revoked_through_the_same_store_is_seen_revoked_by_the_next_lookup()
    {
        await using var store = await OpenEmptyAsync();
        var token = Token("ticket-system", 'b');
        Assert.True(await store.AddTokenAsync(token, Ct));
        Assert.False((await store.FindTokenAsync(token.Sha256, Ct))!.IsRevoked);

        Assert.True(await store.RevokeTokenAsync("ticket-system", T0.AddMinutes(5), Ct));

        Assert.True((await store.FindTokenAsync(token.Sha256, Ct))!.IsRevoked);
        Assert.True((await store.TokensAsync(Ct)).Single().IsRevoked);
    }

    [Fact]
    public async Task Concurrent_lookups_beside_writes_each_find_their_own_token()
    {
        await using var store = await OpenEmptyAsync();
        var tokens = "abcdefgh".Select((c, i) => Token($"t{i}", c)).ToList();
        foreach (var token in tokens)
        {
            Assert.True(await store.AddTokenAsync(token, Ct));
        }

        var readers = tokens.Select(token => Task.Run(async () =>
        {
            for (var i = 0; i < 200; i++)
            {
                Assert.Equal(token, await store.FindTokenAsync(token.Sha256, Ct));
                Assert.Null(await store.FindTokenAsync(new string('0', 64), Ct));
            }
        }));
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                Assert.True(await store.AddTokenAsync(Token($"extra{i}", 'z') with { Sha256 = $"{i + 1:D64}" }, Ct));
            }
        });
        await Task.WhenAll([.. readers, writer]);

        Assert.Equal(tokens.Count + 50, (await store.TokensAsync(Ct)).Count);
    }

    [Fact]
    public async Task A_disposed_store_refuses_lookups_whether_or_not_it_had_looked_one_up()
    {
        var used = await OpenEmptyAsync();
        Assert.Null(await used.FindTokenAsync(new string('1', 64), Ct));
        var unused = await OpenEmptyAsync();
        await used.DisposeAsync();
        await unused.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => used.FindTokenAsync(new string('1', 64), Ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => unused.FindTokenAsync(new string('1', 64), Ct));
    }


    [Fact]
    public async Task A_live_token_name_is_not_given_another_token_but_a_revoked_one_is()
    {
        await using var store = await OpenEmptyAsync();
        var first = Token("zammad", 'a');
        Assert.True(await store.AddTokenAsync(first, Ct));

        Assert.False(await store.AddTokenAsync(Token("zammad", 'b') with { Role = ApiRole.Admin }, Ct));
        Assert.Equal(first, await store.FindTokenAsync(first.Sha256, Ct));
        Assert.Null(await store.FindTokenAsync(new string('b', 64), Ct));
        Assert.False(await store.RevokeTokenAsync("nobody", T0, Ct));

        Assert.True(await store.RevokeTokenAsync("zammad", T0.AddHours(1), Ct));
        Assert.False(await store.RevokeTokenAsync("zammad", T0.AddHours(2), Ct));
        var renewed = Token("zammad", 'c') with { Role = ApiRole.Admin, CreatedAt = T0.AddHours(3) };
        Assert.True(await store.AddTokenAsync(renewed, Ct));
        Assert.True(await store.AddTokenAsync(Token("otrs", 'd'), Ct));

        Assert.Equal([Token("otrs", 'd'), renewed], await store.TokensAsync(Ct));
        Assert.Null(await store.FindTokenAsync(first.Sha256, Ct));
        Assert.Equal(renewed, await store.FindTokenAsync(renewed.Sha256, Ct));
    }

    [Fact]
    public async Task The_ledger_is_listed_newest_first_filtered_and_a_page_at_a_time()
    {
        await using var store = await OpenEmptyAsync();
        await RecordListingLedgerAsync(store);

        async Task<string[]> Keys(LedgerPageQuery query) => [.. (await store.ListMessagesAsync(query, Ct)).Select(e => e.SourceKey)];

        // Ties in first seen go by account, folder and source key, all descending: the order is total.
        Assert.Equal(["f", "e", "d", "h", "c", "b", "g", "a"], await Keys(new LedgerPageQuery()));
        Assert.Equal(["f", "e", "d", "h", "c", "b", "a"], await Keys(new LedgerPageQuery { Account = Account }));
        Assert.Equal(["f", "e", "d"], await Keys(new LedgerPageQuery { Limit = 3 }));
        Assert.Equal(["h", "c", "b"], await Keys(new LedgerPageQuery { Limit = 3, After = new LedgerKey(Account, Folder, "d") }));
        Assert.Equal(["g", "a"], await Keys(new LedgerPageQuery { Limit = 3, After = new LedgerKey(Account, Folder, "b") }));
        Assert.Empty(await Keys(new LedgerPageQuery { After = new LedgerKey(Account, Folder, "a") }));
        Assert.Empty(await Keys(new LedgerPageQuery { After = new LedgerKey(Account, Folder, "unknown") }));
        Assert.Equal(["e", "d", "g", "a"], await Keys(new LedgerPageQuery { States = new HashSet<MessageState> { MessageState.Done } }));
        Assert.Equal(
            ["c", "b"],
            await Keys(new LedgerPageQuery { Account = Account, States = new HashSet<MessageState> { MessageState.Failed, MessageState.Processing, MessageState.Retry }, After = new LedgerKey(Account, "Archive", "h") }));
        Assert.Equal(["f", "e", "d", "h"], await Keys(new LedgerPageQuery { Since = T0.AddMinutes(3) }));
        Assert.Equal(["f", "e", "d", "h"], await Keys(new LedgerPageQuery { Since = T0.AddMinutes(3).ToOffset(TimeSpan.FromHours(-7)) }));
        Assert.Equal(["f"], await Keys(new LedgerPageQuery { Since = T0.AddMinutes(5) }));
        Assert.Empty(await Keys(new LedgerPageQuery { Since = T0.AddMinutes(5).AddTicks(1) }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.ListMessagesAsync(new LedgerPageQuery { Limit = 0 }, Ct));

        var listed = (await store.ListMessagesAsync(new LedgerPageQuery { Account = "sales" }, Ct)).Single();
        AssertSame(ListingEntry("g", "sales", Folder, 1, Passed, MessageState.Done) with { AnalysisVersion = 1 }, listed);
    }

    [Fact]
    public async Task The_ledger_is_filtered_by_the_current_security_outcome_of_analysed_entries_only()
    {
        await using var store = await OpenEmptyAsync();
        await RecordListingLedgerAsync(store);

        async Task<string[]> Keys(params SecurityOutcomeFilter[] outcomes) =>
            [.. (await store.ListMessagesAsync(new LedgerPageQuery { Security = outcomes.ToHashSet() }, Ct)).Select(e => e.SourceKey)];

        Assert.Equal(["h", "g", "a"], await Keys(SecurityOutcomeFilter.Verified));
        Assert.Equal(["b"], await Keys(SecurityOutcomeFilter.SignatureFailed));
        Assert.Equal(["d"], await Keys(SecurityOutcomeFilter.Encrypted));
        Assert.Equal(["c"], await Keys(SecurityOutcomeFilter.DecryptFailed));
        Assert.Equal(["e"], await Keys(SecurityOutcomeFilter.Plain));
        Assert.Equal(["c", "b"], await Keys(SecurityOutcomeFilter.SecurityFailed));
        Assert.Equal(["d", "h", "g", "a"], await Keys(SecurityOutcomeFilter.Verified, SecurityOutcomeFilter.Encrypted));
        Assert.Equal(
            ["a"],
            [.. (await store.ListMessagesAsync(
                new LedgerPageQuery
                {
                    Account = Account,
                    States = new HashSet<MessageState> { MessageState.Done },
                    Security = new HashSet<SecurityOutcomeFilter> { SecurityOutcomeFilter.Verified },
                },
                Ct)).Select(e => e.SourceKey)]);

        // The entry's current analysis counts: b verifies now.
        var b = (await store.FindMessagesAsync(Account, Folder, ["b"], Ct))["b"];
        var again = b with { AnalysisVersion = 2, SecurityJson = Passed };
        await store.RecordAnalysisAsync(again, MessageAnalysis.Of(again, 2, AnalysisTrigger.Retry, securityFailed: false, T0.AddHours(1)), [], Ct);
        Assert.Equal(["h", "b", "g", "a"], await Keys(SecurityOutcomeFilter.Verified));
        Assert.Equal(["c"], await Keys(SecurityOutcomeFilter.SecurityFailed));
    }


    /// <summary>
    /// Eight entries for the listing tests, by first seen: a (0 min), b and g (1), c (2), d and h (3, h in Archive),
    /// e (4), f (5, never analysed); g is of the sales account. Each analysed one has the security result its name is for.
    /// </summary>
    private static async Task RecordListingLedgerAsync(IStateStore store)
    {
        (LedgerEntry Entry, bool Failed)[] analysed =
        [
            (ListingEntry("a", Account, Folder, 0, Passed, MessageState.Done), false),
            (ListingEntry("b", Account, Folder, 1, Failed, MessageState.Retry), true),
            (ListingEntry("g", "sales", Folder, 1, Passed, MessageState.Done), false),
            (ListingEntry("c", Account, Folder, 2, Undecryptable, MessageState.Processing), true),
            (ListingEntry("d", Account, Folder, 3, Decrypted, MessageState.Done), false),
            (ListingEntry("h", Account, "Archive", 3, Passed, MessageState.Processing), false),
            (ListingEntry("e", Account, Folder, 4, Plain, MessageState.Done), false),
        ];
        foreach (var (entry, failed) in analysed)
        {
            var current = entry with { AnalysisVersion = 1 };
            await store.RecordAnalysisAsync(current, MessageAnalysis.Of(current, 1, AnalysisTrigger.Fetch, failed, entry.FirstSeen), [], Ct);
        }

        await store.RecordAsync(ListingEntry("f", Account, Folder, 5, null, MessageState.Failed) with { DecisionJson = null, Error = "poison" }, [], Ct);
    }

    private static LedgerEntry ListingEntry(string key, string account, string folder, int minutes, string? security, MessageState state) =>
        Entry(key) with { Account = account, Folder = folder, FirstSeen = T0.AddMinutes(minutes), UpdatedAt = T0.AddMinutes(minutes), SecurityJson = security, State = state };

    internal static LedgerEntry Entry(string sourceKey) => new()
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

    internal static SideEffect Effect(string sourceKey, int order, SideEffectKind kind = SideEffectKind.Keyword) => new()
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

    internal static OutboxEntry Outbox(string fileName) => new()
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

    /// <summary>An entry as the analysis tests record it: IMAP, its UID from the key, failed security.</summary>
    internal static LedgerEntry AnalysedEntry(string sourceKey, string account = Account) => new()
    {
        Account = account,
        Folder = Folder,
        SourceKey = sourceKey,
        UidValidity = 7,
        Uid = uint.Parse(sourceKey.Split(':')[1], CultureInfo.InvariantCulture),
        MessageId = $"{sourceKey}@example.org",
        ContentHash = new string('e', 64),
        State = MessageState.Processing,
        SecurityJson = Failed,
        DecisionJson = "{}",
        FirstSeen = T0,
        UpdatedAt = T0,
    };

    internal static MessageAnalysis Analysis(string sourceKey, int version, string security, string account = Account) => new()
    {
        Account = account,
        Folder = Folder,
        SourceKey = sourceKey,
        Version = version,
        AnalysedAt = T0.AddHours(version),
        Trigger = version == 1 ? AnalysisTrigger.Fetch : AnalysisTrigger.Retry,
        SecurityJson = security,
        DecisionJson = "{}",
        SecurityFailed = security != Passed,
    };

    /// <summary>A side effect of one analysis version of the message.</summary>
    internal static SideEffect Planned(string sourceKey, int version, SideEffectKind kind, string target, int order = 0) => new()
    {
        IdempotencyKey = $"{sourceKey}/{version}/{kind}/{target}",
        Account = Account,
        Folder = Folder,
        SourceKey = sourceKey,
        AnalysisVersion = version,
        Order = order,
        Kind = kind,
        Target = target,
        State = SideEffectState.Pending,
        UpdatedAt = T0,
    };

    private static OutboxEntry OutboxOf(string account, string file, char hash, OutboxState state, DateTimeOffset at) => new()
    {
        Account = account,
        FileName = file,
        ContentHash = new string(hash, 64),
        State = state,
        UpdatedAt = at,
    };

    private static string[] FileNames(IReadOnlyList<OutboxEntry> entries) => [.. entries.Select(e => e.FileName)];

    /// <summary>Each entry with its <see cref="OutboxEntry.Delivered"/> as text: records compare lists by reference.</summary>
    private static (OutboxEntry Entry, string Delivered)[] Comparable(IReadOnlyList<OutboxEntry> entries) =>
        [.. entries.Select(e => (e with { Delivered = [] }, string.Join(',', e.Delivered)))];

    private static ApiToken Token(string name, char hash) => new(name, ApiRole.Agent, new string(hash, 64), T0, RevokedAt: null);

    /// <summary>Field by field: records compare <see cref="LedgerEntry.Tags"/> by reference.</summary>
    internal static void AssertSame(LedgerEntry expected, LedgerEntry actual)
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
}
