using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using RuleMail.Host.Configuration;
using RuleMail.Host.Processing;
using RuleMail.Host.Scheduling;
using RuleMail.Host.Tests.Processing;
using RuleMail.Host.Tests.Support;
using RuleMail.Keys;

namespace RuleMail.Host.Tests.Cluster;

/// <summary>
/// The HTTP API's outbox on a cluster: two nodes' <see cref="Outboxes"/> on one PostgreSQL state and one shared outbox
/// folder, each with its own in-process gate, as two nodes' APIs behind one load balancer are. Identical POSTs racing
/// to both must write one file and one entry, as they do on one host.
/// </summary>
[Collection(PostgresTests.Name)]
public sealed class ClusterOutboxesTests(PostgresServer postgres)
{
    private const string Variable = "RULEMAIL_TEST_PG";
    private static readonly CancellationToken Ct = CancellationToken.None;

    [Fact]
    public async Task Identical_posts_to_two_nodes_at_once_write_one_file_and_one_entry_and_both_answer_with_it()
    {
        using var harness = HostHarness.Create();
        var outbox = harness.Folder.File("outbox");
        harness.Accounts.Add(new AccountConfig
        {
            Name = "support",
            Address = "support@rulemail.test",
            Send = new SendConfig { Outbox = outbox, Every = "30s", Pickup = harness.Folder.File("pickup") },
        });
        harness.Environment[Variable] = await postgres.CreateDatabaseAsync();
        await using var first = await OpenNodeAsync(harness);
        await using var second = await OpenNodeAsync(harness);
        using var nodeA = new Outboxes(first.Services, new SendTrigger(null, NullLogger<SendTrigger>.Instance));
        using var nodeB = new Outboxes(second.Services, new SendTrigger(null, NullLogger<SendTrigger>.Instance));

        const int Rounds = 25;
        for (var i = 0; i < Rounds; i++)
        {
            var raw = Encoding.UTF8.GetBytes(OutboxFolder.Mail("carol@example.test", $"Answer {i}", "Hello", $"api-{i}@rulemail.test"));
            using var start = new SemaphoreSlim(0);
            var racers = new[] { nodeA, nodeB }.Select(node => Task.Run(async () =>
            {
                await start.WaitAsync();
                using var body = new MemoryStream(raw, writable: false);
                return await node.EnqueueAsync("support", body, "test", Ct);
            })).ToList();
            start.Release(racers.Count);
            var outcomes = await Task.WhenAll(racers);

            Assert.All(outcomes, o => Assert.Equal(OutboxRefusal.None, o.Refusal));
            Assert.Single(outcomes, o => !o.Existing);
            Assert.Equal(outcomes[0].Item!.Id, outcomes[1].Item!.Id);
        }

        Assert.Equal(Rounds, Directory.GetFiles(outbox, "*.eml").Length);
        Assert.Empty(Directory.GetFiles(outbox, "*.tmp"));
        Assert.Equal(Rounds, (await first.Services.State.ListOutboxAsync("support", null, 1000, Ct)).Count);
    }

    /// <summary>One node's host runtime on the shared database (its own pool of connections, as another process has).</summary>
    private static Task<HostRuntime> OpenNodeAsync(HostHarness harness)
    {
        var config = harness.Config();
        config.State = new StateConfig { Path = null, Postgres = new PostgresStateConfig { ConnectionEnv = Variable } };
        return HostRuntime.OpenAsync(
            config,
            new KeyStoreOptions { Time = harness.Time, Passphrase = new KeyStorePassphrase(HostHarness.SamplePassphrase) },
            NullLoggerFactory.Instance,
            harness.Time,
            name => harness.Environment.TryGetValue(name, out var value) ? value : null,
            Ct);
    }
}
