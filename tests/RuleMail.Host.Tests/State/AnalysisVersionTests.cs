using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using RuleMail.Core.Tests.Support;
using RuleMail.Host.Processing;
using RuleMail.Host.State;

namespace RuleMail.Host.Tests.State;

/// <summary>
/// Schema version 3 on SQLite: a version 2 database upgrades in place and keeps everything it held, its analyses
/// becoming version 1; and version 1 idempotency keys stay what they were. How analyses are recorded on every
/// backend is <see cref="StateStoreContract"/>.
/// </summary>
public sealed class AnalysisVersionTests : IDisposable
{
    private const string Account = "support";
    private const string Failed = """{"type":"S/MIME","sign":{"success":false,"comment":"Unable to find certificate for validation"},"encryption":null}""";
    private const string Passed = """{"type":"S/MIME","sign":{"success":true,"comment":"Signed by alice@customer.test"},"encryption":null}""";
    private const string Undecryptable = """{"type":"S/MIME","sign":null,"encryption":{"success":false,"comment":"Unable to find private key to decrypt"}}""";
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 9, 0, 0, TimeSpan.Zero);
    private static readonly CancellationToken Ct = CancellationToken.None;
    private readonly TempDirectory _dir = new("analysis");

    private string Database => _dir.File("state.db");

    [Fact]
    public async Task Upgrading_a_version_2_database_keeps_every_entry_and_side_effect_and_makes_each_analysis_version_1()
    {
        WriteVersion2Database();
        var before = Rows("SELECT * FROM message ORDER BY source_key;");
        var effectsBefore = Rows("SELECT * FROM side_effect ORDER BY idempotency_key;");

        await using (var store = await SqliteStateStore.OpenAsync(Database, Ct))
        {
            var entries = await store.FindMessagesAsync(Account, "INBOX", ["1.demo", "7:42", "7:43", "7:44"], Ct);
            Assert.Equal(4, entries.Count);
            Assert.Equal(1, entries["1.demo"].AnalysisVersion);
            Assert.Equal(new MessageLocation("Quarantine", "1.demo"), entries["1.demo"].Location); // Maildir keeps the unique name.
            Assert.Equal(new MessageLocation("Quarantine", null), entries["7:43"].Location); // IMAP's new UID was never recorded.
            Assert.Null(entries["7:42"].Location);
            Assert.Null(entries["7:44"].AnalysisVersion); // Never analysed.
            Assert.Equal(MessageState.Retry, entries["7:44"].State);
            Assert.Equal(["security-failed"], entries["1.demo"].Tags);

            var analysis = Assert.Single(await store.AnalysesAsync(Account, "INBOX", "1.demo", Ct));
            Assert.Equal((1, AnalysisTrigger.Fetch, true, Failed), (analysis.Version, analysis.Trigger, analysis.SecurityFailed, analysis.SecurityJson));
            Assert.Equal(T0, analysis.AnalysedAt);
            Assert.False(Assert.Single(await store.AnalysesAsync(Account, "INBOX", "7:42", Ct)).SecurityFailed);
            Assert.True(Assert.Single(await store.AnalysesAsync(Account, "INBOX", "7:43", Ct)).SecurityFailed);
            Assert.Empty(await store.AnalysesAsync(Account, "INBOX", "7:44", Ct));

            var effects = await store.SideEffectsAsync(Account, "INBOX", "1.demo", Ct);
            Assert.Equal(["v2-key-flag", "v2-key-move"], effects.Select(e => e.IdempotencyKey));
            Assert.All(effects, e => Assert.Equal((1, SideEffectState.Done), (e.AnalysisVersion, e.State)));

            var failed = await store.AnalysedMessagesAsync(new LedgerQuery { Account = Account, SecurityFailed = true }, Ct);
            Assert.Equal(["1.demo", "7:43"], failed.Select(e => e.SourceKey).Order(StringComparer.Ordinal));

            // The upgraded entry takes its next analysis like any other.
            await store.RecordAnalysisAsync(entries["1.demo"] with { AnalysisVersion = 2 }, Analysis("1.demo", 2, Passed), [], Ct);
        }

        Assert.Equal((long)SqliteSchema.Version, Scalar("PRAGMA user_version;"));

        // Every column v2 had is as it was (the new ones added beside them), and every side effect row too.
        Assert.Equal(before.Select(WithoutUpdates), Rows("SELECT * FROM message ORDER BY source_key;").Select(r => WithoutUpdates(r[..before[0].Length])));
        Assert.Equal(effectsBefore, Rows("SELECT * FROM side_effect ORDER BY idempotency_key;").Select(r => r[..effectsBefore[0].Length]));
    }

    [Fact]
    public async Task An_upgraded_state_still_counts_its_writes_for_the_high_water_mark()
    {
        WriteVersion2Database();
        await using var store = await SqliteStateStore.OpenAsync(Database, Ct);
        var before = (long)Scalar("SELECT seq FROM store_meta;")!;

        await store.RecordAnalysisAsync(
            (await store.FindMessagesAsync(Account, "INBOX", ["1.demo"], Ct))["1.demo"] with { AnalysisVersion = 2 }, Analysis("1.demo", 2, Passed), [], Ct);

        Assert.True((long)Scalar("SELECT seq FROM store_meta;")! >= before + 2, "the entry and its analysis row both count");
    }

    [Fact]
    public void Version_1_idempotency_keys_are_what_they_were_before_versions_and_later_versions_have_their_own()
    {
        var entry = Entry("7:42");
        var before = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"support\nINBOX\n7:42\nWebhook\nhttps://hooks.example/in")))[..32];

        var first = SideEffectPlan.IdempotencyKey(entry, SideEffectKind.Webhook, "https://hooks.example/in", 1);
        var second = SideEffectPlan.IdempotencyKey(entry, SideEffectKind.Webhook, "https://hooks.example/in", 2);
        var third = SideEffectPlan.IdempotencyKey(entry, SideEffectKind.Webhook, "https://hooks.example/in", 3);

        Assert.Equal(before, first);
        Assert.Equal(3, new[] { first, second, third }.Distinct().Count());
        Assert.Equal(second, SideEffectPlan.IdempotencyKey(entry, SideEffectKind.Webhook, "https://hooks.example/in", 2));
        Assert.Matches("^[0-9a-f]{32}$", second);
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>A state as version 2 left it: its schema (as v2 created it) and a ledger of four entries with their side effects.</summary>
    private void WriteVersion2Database()
    {
        Execute(SqliteSchema.CreateVersion1 + SqliteSchema.UpgradeToVersion2 + "PRAGMA user_version = 2;");
        var t = T0.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        var later = T0.AddMinutes(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        Execute($$"""
            INSERT INTO message (account, folder, source_key, uid_validity, uid, message_id, content_hash, state, attempts, next_attempt, error,
                                 security_json, decision_json, tags, subject, sender, first_seen, updated_at) VALUES
              ('support', 'INBOX', '1.demo', NULL, NULL, 'a@x', '{{new string('a', 64)}}', 'done', 0, NULL, NULL,
               '{{Failed}}', '{"flag":["security-failed"],"move":"Quarantine"}', '["security-failed"]', 'Urgent', 'stranger@unknown.test', '{{t}}', '{{later}}'),
              ('support', 'INBOX', '7:42', 7, 42, 'b@x', '{{new string('b', 64)}}', 'done', 1, NULL, NULL,
               '{{Passed}}', '{"webhook":["https://hooks.example/in"]}', '[]', 'Hello', 'alice@customer.test', '{{t}}', '{{later}}'),
              ('support', 'INBOX', '7:43', 7, 43, 'c@x', '{{new string('c', 64)}}', 'done', 0, NULL, NULL,
               '{{Undecryptable}}', '{"move":"Quarantine"}', '[]', 'Secret', 'carol@both.test', '{{t}}', '{{later}}'),
              ('support', 'INBOX', '7:44', 7, 44, NULL, '{{new string('d', 64)}}', 'retry', 2, '{{later}}', 'cannot be processed: boom',
               NULL, NULL, '[]', NULL, NULL, '{{t}}', '{{later}}');
            INSERT INTO side_effect (idempotency_key, account, folder, source_key, ord, kind, target, payload, state, attempts, detail, updated_at, timeout_ms) VALUES
              ('v2-key-flag', 'support', 'INBOX', '1.demo', 0, 'keyword', 'security-failed', NULL, 'done', 1, NULL, '{{later}}', NULL),
              ('v2-key-move', 'support', 'INBOX', '1.demo', 1, 'move', 'Quarantine', NULL, 'done', 1, NULL, '{{later}}', NULL),
              ('v2-key-hook', 'support', 'INBOX', '7:42', 0, 'webhook', 'https://hooks.example/in', '{}', 'done', 1, NULL, '{{later}}', 20000),
              ('v2-key-move2', 'support', 'INBOX', '7:43', 0, 'move', 'Quarantine', NULL, 'done', 1, NULL, '{{later}}', NULL);
            """);
    }

    private static LedgerEntry Entry(string sourceKey, string account = Account) => new()
    {
        Account = account,
        Folder = "INBOX",
        SourceKey = sourceKey,
        UidValidity = 7,
        Uid = uint.Parse(sourceKey.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture),
        MessageId = $"{sourceKey}@example.org",
        ContentHash = new string('e', 64),
        State = MessageState.Processing,
        SecurityJson = Failed,
        DecisionJson = "{}",
        FirstSeen = T0,
        UpdatedAt = T0,
    };

    private static MessageAnalysis Analysis(string sourceKey, int version, string security, string account = Account) => new()
    {
        Account = account,
        Folder = "INBOX",
        SourceKey = sourceKey,
        Version = version,
        AnalysedAt = T0.AddHours(version),
        Trigger = version == 1 ? AnalysisTrigger.Fetch : AnalysisTrigger.Retry,
        SecurityJson = security,
        DecisionJson = "{}",
        SecurityFailed = security != Passed,
    };

    /// <summary>A message row without updated_at (the analysis recorded for 1.demo in the test moves it on).</summary>
    private static string[] WithoutUpdates(string[] row) => [.. row.Where((_, i) => i != 17)];

    private SqliteConnection Raw()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Database, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private object? Scalar(string sql)
    {
        using var connection = Raw();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private void Execute(string sql)
    {
        using var connection = Raw();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private List<string[]> Rows(string sql)
    {
        using var connection = Raw();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string[]>();
        while (reader.Read())
        {
            rows.Add([.. Enumerable.Range(0, reader.FieldCount).Select(i => reader.GetValue(i).ToString() ?? string.Empty)]);
        }

        return rows;
    }
}
