using System.Diagnostics;
using System.Globalization;
using RuleMail.Core.Tests.Support;
using RuleMail.Host.State;

namespace RuleMail.Host.Tests.State;

/// <summary>
/// The state is refused at open when it would make the host repeat side effects: emptied, replaced by another or
/// an older copy, or behind its high-water mark because SQLite dropped committed frames of a damaged <c>-wal</c>;
/// and the one-host lock holds by the file, so a hard link does not escape it. Real SQLite files, real WAL.
/// </summary>
public sealed class StateIdentityTests : IDisposable
{
    private const string Account = "support";
    private const string Folder = "INBOX";
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CancellationToken Ct = CancellationToken.None;
    private readonly TempDirectory _dir = new("state-identity");

    private string Database => _dir.File("state.db");

    [Fact]
    public async Task Garbage_over_the_wal_that_drops_committed_writes_is_refused_before_anything_runs_again()
    {
        var crashed = await CrashedCopyAsync(entries: 5);
        var wal = Path.Combine(crashed, "state.db-wal");
        using (var file = new FileStream(wal, FileMode.Open, FileAccess.Write))
        {
            // Over the first frame header: SQLite's recovery then silently drops every frame after it.
            file.Position = 32;
            file.Write(Enumerable.Repeat((byte)0xA5, 24).ToArray());
        }

        var error = await Assert.ThrowsAsync<RuleMailException>(() => SqliteStateStore.OpenExclusiveAsync(Path.Combine(crashed, "state.db"), Ct));

        Assert.Contains("state database is empty", error.Message, StringComparison.Ordinal);
        Assert.Contains("restore", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_damaged_wal_frame_after_some_were_checkpointed_is_refused_as_lost_writes()
    {
        var crashed = await CrashedCopyAsync(entries: 5, checkpointAfter: 2);
        var wal = Path.Combine(crashed, "state.db-wal");
        using (var file = new FileStream(wal, FileMode.Open, FileAccess.Write))
        {
            file.Position = 32;
            file.Write(Enumerable.Repeat((byte)0xA5, 24).ToArray());
        }

        var error = await Assert.ThrowsAsync<RuleMailException>(() => SqliteStateStore.OpenExclusiveAsync(Path.Combine(crashed, "state.db"), Ct));

        Assert.Contains("lost committed writes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Garbage_appended_after_the_last_wal_frame_loses_nothing_and_opens()
    {
        var crashed = await CrashedCopyAsync(entries: 5);
        File.AppendAllText(Path.Combine(crashed, "state.db-wal"), new string('x', 5000));

        await using var store = await SqliteStateStore.OpenExclusiveAsync(Path.Combine(crashed, "state.db"), Ct);

        Assert.Equal(5, (await store.FindMessagesAsync(Account, Folder, [.. Enumerable.Range(0, 5).Select(Key)], Ct)).Count);
    }

    [Fact]
    public async Task An_emptied_database_beside_its_identity_is_refused()
    {
        await WriteStateAsync(Database, entries: 3);
        File.WriteAllBytes(Database, []);

        var error = await Assert.ThrowsAsync<RuleMailException>(() => SqliteStateStore.OpenExclusiveAsync(Database, Ct));

        Assert.Contains("state database is empty", error.Message, StringComparison.Ordinal);
        Assert.Empty(File.ReadAllBytes(Database)); // Nothing was written to it.
    }

    [Fact]
    public async Task A_missing_database_beside_its_identity_is_refused()
    {
        await WriteStateAsync(Database, entries: 3);
        File.Delete(Database);

        var error = await Assert.ThrowsAsync<RuleMailException>(() => SqliteStateStore.OpenExclusiveAsync(Database, Ct));

        Assert.Contains("state database is missing", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Database));
    }

    [Fact]
    public async Task Another_database_in_its_place_is_refused()
    {
        await WriteStateAsync(Database, entries: 3);
        var other = _dir.File("other.db");
        await WriteStateAsync(other, entries: 3);
        File.Copy(other, Database, overwrite: true);

        var error = await Assert.ThrowsAsync<RuleMailException>(() => SqliteStateStore.OpenExclusiveAsync(Database, Ct));

        Assert.Contains("not the state database", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_older_copy_of_itself_is_refused_and_removing_the_identity_accepts_it()
    {
        await WriteStateAsync(Database, entries: 2);
        var backup = _dir.File("backup.db");
        File.Copy(Database, backup);
        await WriteStateAsync(Database, entries: 4);
        File.Copy(backup, Database, overwrite: true);

        var error = await Assert.ThrowsAsync<RuleMailException>(() => SqliteStateStore.OpenExclusiveAsync(Database, Ct));
        Assert.Contains("lost committed writes", error.Message, StringComparison.Ordinal);

        File.Delete(StateIdentity.PathFor(Database)); // What the line says to do to accept it.
        await using var store = await SqliteStateStore.OpenExclusiveAsync(Database, Ct);
        Assert.Equal(2, (await store.FindMessagesAsync(Account, Folder, [.. Enumerable.Range(0, 4).Select(Key)], Ct)).Count);
    }

    [Fact]
    public async Task A_damaged_identity_file_is_refused()
    {
        await WriteStateAsync(Database, entries: 1);
        var identity = StateIdentity.PathFor(Database);
        var text = File.ReadAllText(identity);
        File.WriteAllText(identity, text.Replace(" 0000", " 0009", StringComparison.Ordinal)); // A hand-lowered or torn mark.

        var error = await Assert.ThrowsAsync<RuleMailException>(() => SqliteStateStore.OpenExclusiveAsync(Database, Ct));

        Assert.Contains("state identity is damaged", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hard_link_or_another_path_to_a_held_state_is_refused()
    {
        await using var running = await SqliteStateStore.OpenExclusiveAsync(Database, Ct);
        await running.RecordAsync(Entry(0), [], Ct);
        var link = _dir.File("link.db");
        ExternalTool.Run("ln", [Database, link]);
        Directory.CreateDirectory(_dir.File("sub"));
        var viaOtherPath = _dir.File("sub/../state.db");

        var byLink = await Assert.ThrowsAsync<StateInUseException>(() => SqliteStateStore.OpenExclusiveAsync(link, Ct));
        var byPath = await Assert.ThrowsAsync<StateInUseException>(() => SqliteStateStore.OpenExclusiveAsync(viaOtherPath, Ct));

        Assert.Contains("another rulemail run is using this state database", byLink.Message, StringComparison.Ordinal);
        Assert.Contains("another rulemail run is using this state database", byPath.Message, StringComparison.Ordinal);

        // The refused opens closed nothing of the running store's: SQLite still writes and reads it.
        await running.RecordAsync(Entry(1), [], Ct);
        Assert.Equal(2, (await running.FindMessagesAsync(Account, Folder, [Key(0), Key(1)], Ct)).Count);
    }

    [Fact]
    public async Task A_state_with_a_second_name_is_refused_even_when_no_host_holds_it()
    {
        // SQLite keeps the -wal beside each name: after a killed host, a second name would not see its last writes.
        await (await SqliteStateStore.OpenExclusiveAsync(Database, Ct)).DisposeAsync();
        using (var file = File.OpenHandle(Database))
        {
            Assert.Equal(1, FileLinks.Count(file)); // On Linux x64/arm64 the count is known, so the refusal below is real.
        }

        var link = _dir.File("link.db");
        ExternalTool.Run("ln", [Database, link]);

        var byName = await Assert.ThrowsAsync<RuleMailException>(() => SqliteStateStore.OpenExclusiveAsync(Database, Ct));
        var byLink = await Assert.ThrowsAsync<RuleMailException>(() => SqliteStateStore.OpenExclusiveAsync(link, Ct));

        Assert.Contains("has 2 names (hard links)", byName.Message, StringComparison.Ordinal);
        Assert.Contains("has 2 names (hard links)", byLink.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(link + ".id"));
        File.Delete(link);
        await (await SqliteStateStore.OpenExclusiveAsync(Database, Ct)).DisposeAsync(); // One name again: it opens.
    }

    [Fact]
    public async Task The_lock_is_released_when_the_store_closes()
    {
        await (await SqliteStateStore.OpenExclusiveAsync(Database, Ct)).DisposeAsync();

        await using var again = await SqliteStateStore.OpenExclusiveAsync(Database, Ct);
        Assert.Equal(Database, again.Path);
    }

    [Fact]
    public async Task Sealing_costs_one_small_flushed_write_per_side_effect()
    {
        await using var store = await SqliteStateStore.OpenExclusiveAsync(Database, Ct);
        const int messages = 200;
        var writing = new Stopwatch();
        var sealing = new Stopwatch();
        for (var i = 0; i < messages; i++)
        {
            writing.Start();
            await store.RecordAsync(Entry(i), [], Ct);
            writing.Stop();
            sealing.Start();
            await store.SealAsync(Ct);
            sealing.Stop();
        }

        var unchanged = Stopwatch.StartNew();
        await store.SealAsync(Ct); // Nothing written since: no flush.
        unchanged.Stop();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"state write {writing.Elapsed.TotalMilliseconds / messages:0.000} ms; seal {sealing.Elapsed.TotalMilliseconds / messages:0.000} ms; seal with nothing new {unchanged.Elapsed.TotalMilliseconds:0.000} ms"));

        // The mark moved with every seal, up to the database's own sequence.
        var mark = File.ReadAllText(StateIdentity.PathFor(Database)).Split(' ')[3];
        Assert.True(long.Parse(mark, CultureInfo.InvariantCulture) >= messages);
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// A state as a SIGKILL leaves it: the database, its -wal with committed frames not yet checkpointed and the
    /// identity, copied (with cp, which takes no lock) while the store is open, then the store closed.
    /// </summary>
    private async Task<string> CrashedCopyAsync(int entries, int? checkpointAfter = null)
    {
        var crashed = _dir.File("crashed");
        Directory.CreateDirectory(crashed);
        await using (var store = await SqliteStateStore.OpenExclusiveAsync(Database, Ct))
        {
            for (var i = 0; i < entries; i++)
            {
                await store.RecordAsync(Entry(i), [], Ct);
                if (i + 1 == checkpointAfter)
                {
                    // What SQLite's automatic checkpoint does after 1,000 pages: the earlier writes reach the main file.
                    await CheckpointAsync(Database);
                }
            }

            await store.SealAsync(Ct);
            foreach (var file in new[] { "state.db", "state.db-wal", "state.db.id" })
            {
                ExternalTool.Run("cp", [_dir.File(file), Path.Combine(crashed, file)]);
            }
        }

        Assert.True(new FileInfo(Path.Combine(crashed, "state.db-wal")).Length > 32, "the copy holds WAL frames");
        return crashed;
    }

    private static async Task CheckpointAsync(string database)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={database};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
        await command.ExecuteNonQueryAsync();
    }

    private static async Task WriteStateAsync(string path, int entries)
    {
        await using var store = await SqliteStateStore.OpenExclusiveAsync(path, Ct);
        for (var i = 0; i < entries; i++)
        {
            await store.RecordAsync(Entry(i), [], Ct);
        }
    }

    private static string Key(int i) => $"7:{i.ToString(CultureInfo.InvariantCulture)}";

    private static LedgerEntry Entry(int i) => new()
    {
        Account = Account,
        Folder = Folder,
        SourceKey = Key(i),
        ContentHash = new string('a', 64),
        State = MessageState.Done,
        FirstSeen = T0,
        UpdatedAt = T0,
    };
}
