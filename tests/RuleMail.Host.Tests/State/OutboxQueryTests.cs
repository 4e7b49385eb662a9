using RuleMail.Core.Tests.Support;
using RuleMail.Host.State;

namespace RuleMail.Host.Tests.State;

/// <summary>The state store's outbox queries the HTTP API reads: a list by account and state, by file name, by content.</summary>
public sealed class OutboxQueryTests
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 14, 9, 26, 53, TimeSpan.Zero);
    private static readonly CancellationToken Ct = CancellationToken.None;

    [Fact]
    public async Task Lists_are_newest_first_filtered_by_account_and_state_and_bounded_by_the_limit()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        await store.SaveOutboxAsync(Entry("support", "a.eml", '1', OutboxState.Sent, T0), Ct);
        await store.SaveOutboxAsync(Entry("support", "b.eml", '2', OutboxState.Held, T0.AddMinutes(2)), Ct);
        await store.SaveOutboxAsync(Entry("sales", "c.eml", '3', OutboxState.Held, T0.AddMinutes(1)), Ct);
        await store.SaveOutboxAsync(Entry("support", "d.eml", '4', OutboxState.Queued, T0.AddMinutes(3)), Ct);

        Assert.Equal(["d.eml", "b.eml", "c.eml", "a.eml"], Names(await store.ListOutboxAsync(null, null, 10, Ct)));
        Assert.Equal(["d.eml", "b.eml"], Names(await store.ListOutboxAsync(null, null, 2, Ct)));
        Assert.Equal(["b.eml", "c.eml"], Names(await store.ListOutboxAsync(null, OutboxState.Held, 10, Ct)));
        Assert.Equal(["b.eml"], Names(await store.ListOutboxAsync("support", OutboxState.Held, 10, Ct)));
        Assert.Equal(["d.eml", "b.eml", "a.eml"], Names(await store.ListOutboxAsync("support", null, 10, Ct)));
        Assert.Empty(await store.ListOutboxAsync("support", OutboxState.Failed, 10, Ct));
        Assert.Empty(await store.ListOutboxAsync("nobody", null, 10, Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.ListOutboxAsync(null, null, 0, Ct));
    }

    [Fact]
    public async Task By_file_name_every_content_and_account_is_found_newest_first_and_by_content_only_the_accounts()
    {
        using var dir = new TempDirectory("state");
        await using var store = await SqliteStateStore.OpenAsync(dir.File("state.db"), Ct);
        var old = Entry("support", "reply.eml", '1', OutboxState.Sent, T0) with { MessageId = "<old@example.org>", Reason = "signed", Attempts = 2 };
        var reused = Entry("support", "reply.eml", '2', OutboxState.Held, T0.AddMinutes(5));
        var other = Entry("sales", "reply.eml", '1', OutboxState.Queued, T0.AddMinutes(1)) with { NextAttempt = T0.AddHours(1), Delivered = ["main"] };
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

    private static OutboxEntry Entry(string account, string file, char hash, OutboxState state, DateTimeOffset at) => new()
    {
        Account = account,
        FileName = file,
        ContentHash = new string(hash, 64),
        State = state,
        UpdatedAt = at,
    };

    private static string[] Names(IReadOnlyList<OutboxEntry> entries) => [.. entries.Select(e => e.FileName)];

    /// <summary>Each entry with its <see cref="OutboxEntry.Delivered"/> as text: records compare lists by reference.</summary>
    private static (OutboxEntry Entry, string Delivered)[] Comparable(IReadOnlyList<OutboxEntry> entries) =>
        [.. entries.Select(e => (e with { Delivered = [] }, string.Join(',', e.Delivered)))];
}
