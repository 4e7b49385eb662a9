using System.Text;
using RuleMail.Core.Tests.Support;
using RuleMail.Host.Transport;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Transport;

public sealed class MaildirSourceTests : IDisposable
{

    /// <summary>A done move, with where the message is now: the folder, under its unique name.</summary>
    private static SourceActionResult MovedTo(string folder, SourceMessage message) =>
        SourceActionResult.Ok with { Location = new MessageLocation(folder, message.SourceKey) };

    private const string Account = SourceTesting.Account;
    private static readonly DateTimeOffset Now = SourceTesting.Now;
    private readonly TempDirectory _temp = new("maildir");

    public MaildirSourceTests()
    {
        Root = Path.Combine(_temp.Path, "Maildir");
        foreach (var sub in new[] { "cur", "new", "tmp" })
        {
            Directory.CreateDirectory(Path.Combine(Root, sub));
        }
    }

    private string Root { get; }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_missing_root_or_a_folder_without_cur_and_new_is_refused_at_connect()
    {
        await using var missing = new MaildirSource(Path.Combine(_temp.Path, "nowhere"), Account);
        var e = await Assert.ThrowsAsync<MailSourceException>(() => missing.ConnectAsync(CancellationToken.None));
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);

        var plain = Path.Combine(_temp.Path, "plain");
        Directory.CreateDirectory(Path.Combine(plain, "cur"));
        await using var notMaildir = new MaildirSource(plain, Account);
        e = await Assert.ThrowsAsync<MailSourceException>(() => notMaildir.ConnectAsync(CancellationToken.None));
        Assert.Contains("not a Maildir", e.Message, StringComparison.Ordinal);

        await using var source = new MaildirSource(Root, Account);
        await source.ConnectAsync(CancellationToken.None);
        Assert.Equal("INBOX", source.Folder);
    }

    [Fact]
    public async Task Lists_new_and_cur_oldest_first_by_unique_name_without_tmp_dot_files_or_folders()
    {
        Deliver("new", "1700000300.M1P1.host");
        Deliver("cur", "1700000100.M1P1.host:2,S");
        Deliver("cur", "1700000200.M1P1.host:2,FS");
        Deliver("tmp", "1700000000.M1P1.host");
        Deliver("cur", ".hidden");
        Directory.CreateDirectory(Path.Combine(Root, "cur", "sub"));
        Deliver("new", "1700000050.M1P1.host");

        await using var state = await StoreAsync();
        await using var source = await ConnectedAsync();
        var listed = await source.ListAsync(state, Now, CancellationToken.None);

        Assert.Equal(
            ["1700000050.M1P1.host", "1700000100.M1P1.host", "1700000200.M1P1.host", "1700000300.M1P1.host"],
            listed.Select(m => m.SourceKey));
        Assert.Equal(Path.Combine(Root, "cur", "1700000200.M1P1.host:2,FS"), listed[2].Location);
        Assert.All(listed, m => Assert.True(File.Exists(m.Location)));
    }

    [Fact]
    public async Task A_name_without_a_timestamp_sorts_by_its_modification_time()
    {
        var late = Deliver("new", "zzz-first-by-mtime");
        var early = Deliver("new", "aaa-second-by-mtime");
        File.SetLastWriteTimeUtc(late, new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        File.SetLastWriteTimeUtc(early, new DateTime(2002, 1, 1, 0, 0, 0, DateTimeKind.Utc));

        await using var state = await StoreAsync();
        await using var source = await ConnectedAsync();
        var listed = await source.ListAsync(state, Now, CancellationToken.None);

        Assert.Equal(["zzz-first-by-mtime", "aaa-second-by-mtime"], listed.Select(m => m.SourceKey));
    }

    [Fact]
    public async Task Recorded_messages_are_not_listed_again_unless_due_for_another_attempt()
    {
        Deliver("cur", "1700000001.done:2,S");
        Deliver("cur", "1700000002.retry-due:2,");
        Deliver("cur", "1700000003.retry-later:2,");
        Deliver("new", "1700000004.fresh");
        Deliver("new", "1700000005.failed");

        await using var state = await StoreAsync();
        await SourceTesting.RecordAsync(state, "INBOX", "1700000001.done", MessageState.Done);
        await SourceTesting.RecordAsync(state, "INBOX", "1700000002.retry-due", MessageState.Retry, Now.AddMinutes(-1));
        await SourceTesting.RecordAsync(state, "INBOX", "1700000003.retry-later", MessageState.Retry, Now.AddMinutes(5));
        await SourceTesting.RecordAsync(state, "INBOX", "1700000005.failed", MessageState.Failed);
        await SourceTesting.RecordAsync(state, "INBOX", "1700000009.due-but-gone", MessageState.Retry, Now.AddMinutes(-1));

        await using var source = await ConnectedAsync();
        var listed = await source.ListAsync(state, Now, CancellationToken.None);

        Assert.Equal(["1700000002.retry-due", "1700000004.fresh"], listed.Select(m => m.SourceKey));
    }

    [Fact]
    public async Task Copies_the_bytes_and_finds_a_message_renamed_by_a_flag_change()
    {
        var path = Deliver("new", "1700000001.M1P1.host", "Subject: hi\r\n\r\nbody\r\n");
        await using var state = await StoreAsync();
        await using var source = await ConnectedAsync();
        var message = Assert.Single(await source.ListAsync(state, Now, CancellationToken.None));

        Assert.Equal(File.ReadAllBytes(path), await SourceTesting.CopyAsync(source, message));

        // A mail client reads it: new/ → cur/ with the Seen flag.
        var renamed = Path.Combine(Root, "cur", "1700000001.M1P1.host:2,S");
        File.Move(path, renamed);
        Assert.Equal(File.ReadAllBytes(renamed), await SourceTesting.CopyAsync(source, message));

        File.Delete(renamed);
        using var sink = new MemoryStream();
        Assert.False(await source.CopyToAsync(message, sink, CancellationToken.None));
    }

    [Fact]
    public async Task A_queued_message_is_found_by_its_unique_name_alone_whatever_flags_renamed_it_meanwhile()
    {
        // A worker on another node than the lister's gets the unique name from the queue, not the listed path.
        const string key = "1700000001.M1P1.host";
        var bytes = File.ReadAllBytes(Deliver("new", key, "Subject: queued\r\n\r\nbody\r\n"));
        var queued = new SourceMessage(key);
        await using var source = await ConnectedAsync();
        await using var otherNode = await ConnectedAsync();
        Assert.Equal(bytes, await SourceTesting.CopyAsync(source, queued));

        // A mail client reads it, then flags and answers it.
        File.Move(Path.Combine(Root, "new", key), Path.Combine(Root, "cur", key + ":2,S"));
        Assert.Equal(bytes, await SourceTesting.CopyAsync(source, queued));
        File.Move(Path.Combine(Root, "cur", key + ":2,S"), Path.Combine(Root, "cur", key + ":2,FRS"));
        Assert.Equal(bytes, await SourceTesting.CopyAsync(source, queued));

        // A keyword another node set is found set; one more is added to the name as it is now.
        Assert.Equal(SourceActionResult.Ok, await otherNode.AddKeywordAsync(new SourceMessage(key), "Urgent", CancellationToken.None));
        Assert.Equal(SourceActionResult.Ok, await source.AddKeywordAsync(queued, "urgent", CancellationToken.None));
        Assert.Equal(SourceActionResult.Ok, await source.AddKeywordAsync(queued, "$Ticket", CancellationToken.None));
        Assert.Equal([key + ":2,FRSab"], Directory.GetFiles(Path.Combine(Root, "cur")).Select(Path.GetFileName));
        Assert.Equal(bytes, await SourceTesting.CopyAsync(source, queued));

        // Moved by the other node: gone from INBOX, and a move there is found done.
        Assert.Equal(MovedTo("Quarantine", queued), await otherNode.MoveAsync(new SourceMessage(key), "Quarantine", CancellationToken.None));
        using var sink = new MemoryStream();
        Assert.False(await source.CopyToAsync(queued, sink, CancellationToken.None));
        Assert.Equal(SourceActionResult.Gone, await source.AddKeywordAsync(queued, "Later", CancellationToken.None));
        Assert.Equal(MovedTo("Quarantine", queued), await source.MoveAsync(queued, "Quarantine", CancellationToken.None));
        Assert.Equal([key + ":2,FRSab"], Directory.GetFiles(Path.Combine(Root, ".Quarantine", "cur")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_file_renamed_between_being_found_and_used_is_found_again_never_reported_gone_or_broken()
    {
        const string key = "1700000001.M1P1.host";
        var bytes = File.ReadAllBytes(Deliver("new", key));
        var flags = new Queue<string>(["S", "FS", "RS", "FRSa"]);
        var looksToRename = 0;

        // Another process changes the flags right after a look that found the file, once per action below: after the
        // look whose path the action then opens or renames.
        await using var source = new MaildirSource(Root, Account)
        {
            Looked = (_, path) =>
            {
                if (path is not null && looksToRename > 0 && --looksToRename == 0)
                {
                    File.Move(path, Path.Combine(Root, "cur", MaildirFileName.WithFlags(Path.GetFileName(path), flags.Dequeue())));
                }
            },
        };
        await source.ConnectAsync(CancellationToken.None);
        await using var state = await StoreAsync();
        var listed = Assert.Single(await source.ListAsync(state, Now, CancellationToken.None));

        looksToRename = 1;
        Assert.Equal(bytes, await SourceTesting.CopyAsync(source, listed));
        looksToRename = 1;
        Assert.Equal(bytes, await SourceTesting.CopyAsync(source, new SourceMessage(key)));
        looksToRename = 2; // The first look only checks that it is there.
        Assert.Equal(SourceActionResult.Ok, await source.AddKeywordAsync(listed, "Urgent", CancellationToken.None));
        Assert.Equal([key + ":2,RSa"], Directory.GetFiles(Path.Combine(Root, "cur")).Select(Path.GetFileName));
        looksToRename = 1;
        Assert.Equal(MovedTo("Quarantine", listed), await source.MoveAsync(listed, "Quarantine", CancellationToken.None));

        Assert.Empty(flags);
        Assert.Equal([key + ":2,FRSa"], Directory.GetFiles(Path.Combine(Root, ".Quarantine", "cur")).Select(Path.GetFileName));
        Assert.Empty(Directory.GetFiles(Path.Combine(Root, "cur")));
    }

    [Fact]
    public async Task A_file_a_reading_of_the_folder_missed_while_it_was_renamed_is_looked_for_again_before_it_counts_as_gone()
    {
        const string key = "1700000001.M1P1.host";
        var bytes = File.ReadAllBytes(Deliver("cur", key + ":2,FS"));

        // The first reading does not see the file, as readdir may not while it is renamed; it is there by the next one.
        var aside = _temp.File("aside");
        File.Move(Path.Combine(Root, "cur", key + ":2,FS"), aside);
        var misses = 0;
        await using var source = new MaildirSource(Root, Account)
        {
            Looked = (_, path) =>
            {
                if (path is null && misses++ == 0)
                {
                    File.Move(aside, Path.Combine(Root, "cur", key + ":2,FRS"));
                }
            },
        };
        await source.ConnectAsync(CancellationToken.None);

        Assert.Equal(bytes, await SourceTesting.CopyAsync(source, new SourceMessage(key)));
        Assert.Equal(1, misses);
    }

    [Fact]
    public async Task A_file_gone_between_the_listing_and_the_fetch_is_gone_not_an_error()
    {
        Deliver("new", "1700000001.deleted");
        Deliver("cur", "1700000002.vanishing:2,S");
        await using var state = await StoreAsync();
        var removeNext = false;
        await using var source = new MaildirSource(Root, Account)
        {
            // Between finding the file and opening it, a user deletes it.
            Looked = (_, path) =>
            {
                if (path is not null && removeNext)
                {
                    removeNext = false;
                    File.Delete(path);
                }
            },
        };
        await source.ConnectAsync(CancellationToken.None);
        var listed = await source.ListAsync(state, Now, CancellationToken.None);
        Assert.Equal(2, listed.Count);

        File.Delete(Path.Combine(Root, "new", "1700000001.deleted"));
        foreach (var message in new[] { listed[0], new SourceMessage(listed[0].SourceKey) })
        {
            using var sink = new MemoryStream();
            Assert.False(await source.CopyToAsync(message, sink, CancellationToken.None));
            Assert.Equal(SourceActionResult.Gone, await source.AddKeywordAsync(message, "Urgent", CancellationToken.None));
            Assert.Equal(SourceActionResult.Gone, await source.MoveAsync(message, "Quarantine", CancellationToken.None));
        }

        removeNext = true;
        using (var sink = new MemoryStream())
        {
            Assert.False(await source.CopyToAsync(new SourceMessage(listed[1].SourceKey), sink, CancellationToken.None));
        }

        Assert.Empty(Directory.GetFiles(Path.Combine(Root, "cur")));
        Assert.False(Directory.Exists(Path.Combine(Root, ".Quarantine")));
    }

    [Fact]
    public async Task A_keyword_gets_a_letter_in_dovecot_keywords_and_moves_a_new_message_to_cur()
    {
        Deliver("new", "1700000001.M1P1.host", "Subject: one\r\n\r\n");
        Deliver("cur", "1700000002.M1P1.host:2,FS", "Subject: two\r\n\r\n");
        await using var state = await StoreAsync();
        await using var source = await ConnectedAsync();
        var listed = await source.ListAsync(state, Now, CancellationToken.None);

        Assert.Equal(SourceActionResult.Ok, await source.AddKeywordAsync(listed[0], "Urgent", CancellationToken.None));
        Assert.Equal(SourceActionResult.Ok, await source.AddKeywordAsync(listed[0], "$Ticket", CancellationToken.None));
        Assert.Equal(SourceActionResult.Ok, await source.AddKeywordAsync(listed[1], "$ticket", CancellationToken.None));

        Assert.Equal("0 Urgent\n1 $Ticket\n", File.ReadAllText(Path.Combine(Root, "dovecot-keywords")));
        Assert.Empty(Directory.GetFiles(Path.Combine(Root, "new")));
        Assert.Equal(
            ["1700000001.M1P1.host:2,ab", "1700000002.M1P1.host:2,FSb"],
            Directory.GetFiles(Path.Combine(Root, "cur")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.False(File.Exists(Path.Combine(Root, MaildirKeywords.UidlistLockName)));
        Assert.Equal(["dovecot-keywords"], Directory.GetFiles(Root).Select(Path.GetFileName));

        // Already set: nothing changes.
        Assert.Equal(SourceActionResult.Ok, await source.AddKeywordAsync(listed[0], "URGENT", CancellationToken.None));
        Assert.True(File.Exists(Path.Combine(Root, "cur", "1700000001.M1P1.host:2,ab")));
    }

    [Fact]
    public async Task Existing_dovecot_keywords_are_kept_and_the_first_free_index_is_used()
    {
        File.WriteAllText(Path.Combine(Root, "dovecot-keywords"), "0 $Junk\n2 Later\nnot a line\n");
        var keywords = Path.Combine(Root, "dovecot-keywords");
        var future = new DateTime(2040, 6, 1, 10, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(keywords, future);
        Deliver("cur", "1700000001.x:2,S");
        await using var state = await StoreAsync();
        await using var source = await ConnectedAsync();
        var message = Assert.Single(await source.ListAsync(state, Now, CancellationToken.None));

        Assert.Equal(SourceActionResult.Ok, await source.AddKeywordAsync(message, "Urgent", CancellationToken.None));
        Assert.Equal(SourceActionResult.Ok, await source.AddKeywordAsync(message, "later", CancellationToken.None));

        Assert.Equal("0 $Junk\n1 Urgent\n2 Later\n", File.ReadAllText(keywords));
        Assert.True(File.Exists(Path.Combine(Root, "cur", "1700000001.x:2,Sbc")));

        // Dovecot re-reads dovecot-keywords only when its mtime (in seconds) changes, so it must grow.
        Assert.True(File.GetLastWriteTimeUtc(keywords) >= future.AddSeconds(1));
    }

    [Fact]
    public async Task Invalid_keywords_and_a_27th_keyword_are_unsupported_and_a_missing_message_is_gone()
    {
        var path = Deliver("new", "1700000001.x");
        await using var state = await StoreAsync();
        await using var source = await ConnectedAsync();
        var message = Assert.Single(await source.ListAsync(state, Now, CancellationToken.None));

        foreach (var bad in new[] { "two words", "(x)", "a]b", "50%", "star*", "quo\"te", "back\\slash", "", "grün", "tab\tx" })
        {
            var result = await source.AddKeywordAsync(message, bad, CancellationToken.None);
            Assert.False(result.Done);
            Assert.NotNull(result.Detail);
            Assert.NotEqual(SourceActionResult.Gone, result);
        }

        Assert.False(File.Exists(Path.Combine(Root, "dovecot-keywords")));
        Assert.True(File.Exists(path));

        File.WriteAllLines(Path.Combine(Root, "dovecot-keywords"), Enumerable.Range(0, 26).Select(i => $"{i} k{i}"));
        var full = await source.AddKeywordAsync(message, "One-more", CancellationToken.None);
        Assert.False(full.Done);
        Assert.Contains("26 keywords", full.Detail, StringComparison.Ordinal);
        Assert.Equal(SourceActionResult.Ok, await source.AddKeywordAsync(message, "k25", CancellationToken.None));
        Assert.True(File.Exists(Path.Combine(Root, "cur", "1700000001.x:2,z")));

        File.Delete(Path.Combine(Root, "cur", "1700000001.x:2,z"));
        Assert.Equal(SourceActionResult.Gone, await source.AddKeywordAsync(message, "k0", CancellationToken.None));
    }

    [Fact]
    public async Task Moves_into_a_Maildir_plus_plus_folder_it_creates_keeping_the_name_and_new_or_cur()
    {
        Deliver("new", "1700000001.new-one");
        Deliver("cur", "1700000002.seen-one:2,S");
        await using var state = await StoreAsync();
        await using var source = await ConnectedAsync();
        var listed = await source.ListAsync(state, Now, CancellationToken.None);

        Assert.Equal(MovedTo("Quarantine", listed[0]), await source.MoveAsync(listed[0], "Quarantine", CancellationToken.None));
        Assert.Equal(MovedTo("Quarantine", listed[1]), await source.MoveAsync(listed[1], "Quarantine", CancellationToken.None));

        var quarantine = Path.Combine(Root, ".Quarantine");
        Assert.True(File.Exists(Path.Combine(quarantine, "new", "1700000001.new-one")));
        Assert.True(File.Exists(Path.Combine(quarantine, "cur", "1700000002.seen-one:2,S")));
        Assert.True(Directory.Exists(Path.Combine(quarantine, "tmp")));
        Assert.True(File.Exists(Path.Combine(quarantine, "maildirfolder")));
        Assert.Empty(await source.ListAsync(state, Now, CancellationToken.None));

        // Moving again (a retry after a crash before the result was recorded) finds it there: done.
        Assert.Equal(MovedTo("Quarantine", listed[0]), await source.MoveAsync(listed[0], "Quarantine", CancellationToken.None));
        Assert.Equal(SourceActionResult.Gone, await source.MoveAsync(listed[0], "Elsewhere", CancellationToken.None));
        Assert.Equal(SourceActionResult.Gone, await source.MoveAsync(listed[0], "INBOX", CancellationToken.None));
    }

    [Fact]
    public async Task A_move_translates_keyword_letters_to_the_target_folders_own_dovecot_keywords()
    {
        File.WriteAllText(Path.Combine(Root, "dovecot-keywords"), "0 $Junk\n1 Urgent\n2 Later\n");
        Deliver("cur", "1700000001.x:2,Sbcd");
        var quarantine = Path.Combine(Root, ".Quarantine");
        foreach (var sub in new[] { "cur", "new", "tmp" })
        {
            Directory.CreateDirectory(Path.Combine(quarantine, sub));
        }

        File.WriteAllText(Path.Combine(quarantine, "dovecot-keywords"), "0 later\n");
        await using var state = await StoreAsync();
        await using var source = await ConnectedAsync();
        var message = Assert.Single(await source.ListAsync(state, Now, CancellationToken.None));

        Assert.Equal(MovedTo("Quarantine", message), await source.MoveAsync(message, "Quarantine", CancellationToken.None));

        // Urgent (b here) is added there as 1, Later (c here) is 0 there, d has no name and is dropped.
        Assert.Equal("0 later\n1 Urgent\n", File.ReadAllText(Path.Combine(quarantine, "dovecot-keywords")));
        Assert.Equal(["1700000001.x:2,Sab"], Directory.GetFiles(Path.Combine(quarantine, "cur")).Select(Path.GetFileName));
        Assert.Equal(MovedTo("Quarantine", message), await source.MoveAsync(message, "Quarantine", CancellationToken.None));
    }

    [Fact]
    public async Task Nested_and_non_ASCII_folders_use_dots_and_modified_UTF7_and_dots_in_names_are_refused()
    {
        Deliver("cur", "1700000001.a:2,");
        Deliver("cur", "1700000002.b:2,");
        Deliver("cur", "1700000003.c:2,");
        await using var state = await StoreAsync();
        await using var source = await ConnectedAsync();
        var listed = await source.ListAsync(state, Now, CancellationToken.None);

        Assert.Equal(MovedTo("Archive/2024", listed[0]), await source.MoveAsync(listed[0], "Archive/2024", CancellationToken.None));
        Assert.Equal(MovedTo("Quarantäne & Co", listed[1]), await source.MoveAsync(listed[1], "Quarantäne & Co", CancellationToken.None));
        Assert.True(File.Exists(Path.Combine(Root, ".Archive.2024", "cur", "1700000001.a:2,")));
        Assert.True(File.Exists(Path.Combine(Root, ".Quarant&AOQ-ne &- Co", "cur", "1700000002.b:2,")));

        foreach (var bad in new[] { "a.b", "/lead", "trail/", "a//b", "..", "x/../y", "star*", "" })
        {
            var result = await source.MoveAsync(listed[2], bad, CancellationToken.None);
            Assert.False(result.Done);
            Assert.NotEqual(SourceActionResult.Gone, result);
        }

        Assert.Equal(SourceActionResult.Ok, await source.MoveAsync(listed[2], "inbox", CancellationToken.None));
        Assert.True(File.Exists(Path.Combine(Root, "cur", "1700000003.c:2,")));
    }

    [Fact]
    public async Task A_move_across_filesystems_throws_and_leaves_the_message_where_it_was()
    {
        // /dev/shm is a tmpfs of its own: a rename into it from here fails with EXDEV.
        if (!Directory.Exists("/dev/shm"))
        {
            return;
        }

        using var elsewhere = new TempDirectory("maildir-shm");
        var other = Path.Combine("/dev/shm", Path.GetFileName(elsewhere.Path));
        Directory.CreateDirectory(other);
        try
        {
            Directory.CreateSymbolicLink(Path.Combine(Root, ".Remote"), other);
            var path = Deliver("cur", "1700000001.x:2,S");
            await using var state = await StoreAsync();
            await using var source = await ConnectedAsync();
            var message = Assert.Single(await source.ListAsync(state, Now, CancellationToken.None));

            var e = await Assert.ThrowsAsync<MailSourceException>(() => source.MoveAsync(message, "Remote", CancellationToken.None));
            Assert.Contains("never copies", e.Message, StringComparison.Ordinal);
            Assert.True(File.Exists(path));
            Assert.Empty(Directory.GetFiles(Path.Combine(other, "cur")));
        }
        finally
        {
            Directory.Delete(other, recursive: true);
        }
    }

    [Fact]
    public async Task Dovecot_serving_the_Maildir_shows_the_keywords_and_the_moved_messages_over_IMAP()
    {
        const string user = "maildir";
        const string password = "maildir-secret";
        await using var dovecot = await DovecotServer.StartAsync((user, password));
        await dovecot.AppendAsync(user, password, Mail("first"), keywords: ["$Existing"]);
        await dovecot.AppendAsync(user, password, Mail("second"), flags: MailKit.MessageFlags.Seen);
        await dovecot.AppendAsync(user, password, Mail("third"));
        var maildir = dovecot.MaildirOf(user);

        await using var state = await StoreAsync();
        await using var source = new MaildirSource(maildir, Account);
        await source.ConnectAsync(CancellationToken.None);
        var byId = new Dictionary<string, SourceMessage>(StringComparer.Ordinal);
        foreach (var message in await source.ListAsync(state, Now, CancellationToken.None))
        {
            var text = Encoding.ASCII.GetString(await SourceTesting.CopyAsync(source, message));
            byId[text.Contains("<first@test>", StringComparison.Ordinal) ? "first" : text.Contains("<second@test>", StringComparison.Ordinal) ? "second" : "third"] = message;
        }

        Assert.Equal(3, byId.Count);
        Assert.Equal(SourceActionResult.Ok, await source.AddKeywordAsync(byId["first"], "Urgent", CancellationToken.None));
        Assert.Equal(SourceActionResult.Ok, await source.AddKeywordAsync(byId["second"], "$Ticket", CancellationToken.None));
        Assert.Equal(SourceActionResult.Ok, await source.AddKeywordAsync(byId["second"], "Urgent", CancellationToken.None));
        Assert.Equal(MovedTo("Quarantäne", byId["second"]), await source.MoveAsync(byId["second"], "Quarantäne", CancellationToken.None));
        Assert.Equal(MovedTo("Archive/2024", byId["third"]), await source.MoveAsync(byId["third"], "Archive/2024", CancellationToken.None));
        GiveToMaildirOwner(maildir);

        var inbox = Assert.Single(await dovecot.ListAsync(user, password));
        Assert.Equal("first@test", inbox.MessageId);
        Assert.Equal(["$Existing", "Urgent"], inbox.Keywords.Order(StringComparer.Ordinal));

        var quarantined = Assert.Single(await dovecot.ListAsync(user, password, "Quarantäne"));
        Assert.Equal("second@test", quarantined.MessageId);
        Assert.Equal(["$Ticket", "Urgent"], quarantined.Keywords.Order(StringComparer.Ordinal));
        Assert.True(quarantined.Flags.HasFlag(MailKit.MessageFlags.Seen));

        // Dovecot's Maildir++ hierarchy separator is '.': Archive/2024 is IMAP's Archive.2024.
        var archived = Assert.Single(await dovecot.ListAsync(user, password, "Archive.2024"));
        Assert.Equal("third@test", archived.MessageId);
        Assert.Empty(archived.Keywords);
    }

    [Theory]
    [InlineData("1.x", 'a', "1.x:2,a")]
    [InlineData("1.x:2,", 'S', "1.x:2,S")]
    [InlineData("1.x:2,FS", 'a', "1.x:2,FSa")]
    [InlineData("1.x:2,Sc", 'b', "1.x:2,Sbc")]
    [InlineData("1.x:2,RS", 'F', "1.x:2,FRS")]
    [InlineData("1.x,S=120:2,Sa,extra", 'b', "1.x,S=120:2,Sab,extra")]
    [InlineData("1.x:1,experimental", 'a', "1.x:2,a")]
    public void Flags_are_kept_in_ASCII_order_as_Dovecot_writes_them(string name, char flag, string expected)
    {
        Assert.Equal(expected, MaildirFileName.WithFlag(name, flag));
        Assert.Equal(name.Split(':')[0], MaildirFileName.KeyOf(expected));
    }

    [Theory]
    [InlineData("Quarantine", "Quarantine")]
    [InlineData("A&B", "A&-B")]
    [InlineData("Entwürfe", "Entw&APw-rfe")]
    [InlineData("日本語", "&ZeVnLIqe-")]
    public void Folder_names_are_stored_in_modified_UTF7(string name, string expected) =>
        Assert.Equal(expected, MaildirFolderName.EncodeModifiedUtf7(name));

    private static byte[] Mail(string name) =>
        Encoding.ASCII.GetBytes($"Message-ID: <{name}@test>\r\nSubject: {name}\r\nFrom: a@test\r\nTo: b@test\r\n\r\nbody of {name}\r\n");

    /// <summary>
    /// Run as root, the tests create files Dovecot's mail processes (running as nobody) cannot enter; a real
    /// deployment runs RuleMail as the mail user. Give everything to the Maildir's owner, as that would be.
    /// </summary>
    private static void GiveToMaildirOwner(string maildir)
    {
        var owner = ExternalTool.Run("stat", ["-c", "%u:%g", maildir]).StandardOutputText.Trim();
        ExternalTool.Run("chown", ["-R", owner, maildir]);
    }

    private string Deliver(string sub, string name, string? content = null)
    {
        var path = Path.Combine(Root, sub, name);
        File.WriteAllText(path, content ?? $"Subject: {name}\r\nMessage-ID: <{name}@test>\r\n\r\nhello\r\n", Encoding.ASCII);
        return path;
    }

    private async Task<MaildirSource> ConnectedAsync()
    {
        var source = new MaildirSource(Root, Account);
        await source.ConnectAsync(CancellationToken.None);
        return source;
    }

    private Task<SqliteStateStore> StoreAsync() => SqliteStateStore.OpenAsync(_temp.File("state.db"), CancellationToken.None);
}
