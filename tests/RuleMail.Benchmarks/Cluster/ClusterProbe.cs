using Npgsql;

namespace RuleMail.Benchmarks.Cluster;

/// <summary>
/// What the benchmark reads from a cluster's database while it runs: the live nodes, the ledger's done messages and
/// the queue, and the database's committed transactions. Counts its own queries, so they can be taken off the total.
/// </summary>
internal sealed class ClusterProbe(NpgsqlDataSource database)
{
    /// <summary>The transactions this probe made (each query is one).</summary>
    public int Polls { get; private set; }

    /// <summary>Nodes registered, not stopped, and seen within the last lease time (as <c>rulemail cluster status</c> judges them alive).</summary>
    public async Task<long> AliveAsync() => await ScalarAsync("""
        SELECT count(*) FROM cluster_node
        WHERE stopped_at IS NULL AND last_seen > clock_timestamp() - interval '30 seconds'
        """);

    /// <summary>Messages in the ledger done, and items in the work queue.</summary>
    public async Task<(long Done, long Queued)> ProgressAsync()
    {
        Polls++;
        await using var command = database.CreateCommand("SELECT (SELECT count(*) FROM message WHERE state = 'done'), (SELECT count(*) FROM work_item)");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>Transactions committed or rolled back in this database so far (pg_stat_database, reported by each backend within a second).</summary>
    public async Task<long> CommitsAsync() =>
        await ScalarAsync("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()");

    private async Task<long> ScalarAsync(string sql)
    {
        Polls++;
        await using var command = database.CreateCommand(sql);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
