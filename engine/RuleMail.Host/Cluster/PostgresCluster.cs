using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using RuleMail.Json;

namespace RuleMail.Host.Cluster;

/// <summary>
/// The cluster's coordination on the shared PostgreSQL state: node heartbeats, leases with fencing numbers, and the work
/// queue that every node's workers claim from with <c>FOR UPDATE SKIP LOCKED</c>. Every expiry is judged by the
/// database's clock, so nodes whose clocks differ still agree on who holds what.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private readonly NpgsqlDataSource _data;
    private readonly TimeSpan _ttl;

    /// <summary>The claims a worker of this process is working on: the only ones the heartbeat renews.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Claim, byte> _held = new();

    public PostgresCluster(string connectionString, ClusterNode node, TimeSpan ttl)
    {
        ArgumentNullException.ThrowIfNull(node);
        _data = NpgsqlDataSource.Create(connectionString);
        Node = node;
        _ttl = ttl;
    }

    public ClusterNode Node { get; }

    /// <summary>How long a lease or claim holds without renewal.</summary>
    public TimeSpan Ttl => _ttl;

    /// <summary>Records this instance as a live node.</summary>
    public async Task RegisterAsync(string version, CancellationToken cancellationToken)
    {
        await ExecuteAsync("""
            INSERT INTO cluster_node (instance, node, host, pid, version, started_at, last_seen)
            VALUES (@instance, @node, @host, @pid, @version, clock_timestamp(), clock_timestamp())
            ON CONFLICT (instance) DO UPDATE SET last_seen = clock_timestamp(), stopped_at = NULL;
            DELETE FROM cluster_node WHERE last_seen < clock_timestamp() - interval '7 days';
            """, p =>
        {
            p.AddWithValue("instance", Node.Instance);
            p.AddWithValue("node", Node.Name);
            p.AddWithValue("host", Environment.MachineName);
            p.AddWithValue("pid", Environment.ProcessId);
            p.AddWithValue("version", version);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The heartbeat: this node is alive, and the claims its workers are working on now are renewed for another
    /// <see cref="Ttl"/> (a lease is renewed by its holder, <see cref="KeepRenewed"/>). A claim that was taken over
    /// meanwhile is left alone, and one this process no longer works on (its release failed) is never renewed: it expires.
    /// </summary>
    public async Task KeepAliveAsync(CancellationToken cancellationToken)
    {
        var held = _held.Keys.ToList();
        await ExecuteAsync("""
            UPDATE cluster_node SET last_seen = clock_timestamp() WHERE instance = @owner;
            UPDATE work_item w SET claim_expires = clock_timestamp() + @ttl
            FROM unnest(@kinds, @accounts, @folders, @keys, @fences) AS h(kind, account, folder, source_key, fence)
            WHERE w.kind = h.kind AND w.account = h.account AND w.folder = h.folder AND w.source_key = h.source_key
              AND w.fence = h.fence AND w.claimed_by = @owner;
            """, p =>
        {
            p.AddWithValue("owner", Node.Instance);
            p.AddWithValue("ttl", _ttl);
            p.AddWithValue("kinds", held.Select(c => Kind(c.Item.Kind)).ToArray());
            p.AddWithValue("accounts", held.Select(c => c.Item.Account).ToArray());
            p.AddWithValue("folders", held.Select(c => c.Item.Folder).ToArray());
            p.AddWithValue("keys", held.Select(c => c.Item.SourceKey).ToArray());
            p.AddWithValue("fences", held.Select(c => c.Number).ToArray());
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Marks this instance stopped, once its workers have stopped; claims a failed release left behind are given back.
    /// Leases are not: each is given back by the job holding it when that job ends (a send job may still be running).
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await ExecuteAsync("""
            UPDATE cluster_node SET stopped_at = clock_timestamp(), last_seen = clock_timestamp() WHERE instance = @owner;
            UPDATE work_item SET claimed_by = NULL, claim_expires = NULL WHERE claimed_by = @owner;
            """, p => p.AddWithValue("owner", Node.Instance), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Takes the lease when it is free or expired (with a new fencing number); null while another node holds it.</summary>
    public async Task<Lease?> TryTakeLeaseAsync(string name, CancellationToken cancellationToken)
    {
        await using var command = _data.CreateCommand("""
            INSERT INTO cluster_lease (name, owner, expires_at, fence)
            VALUES (@name, @owner, clock_timestamp() + @ttl, nextval('cluster_fence'))
            ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at, fence = excluded.fence
                WHERE cluster_lease.owner IS NULL OR cluster_lease.expires_at <= clock_timestamp()
            RETURNING fence, expires_at
            """);
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("owner", Node.Instance);
        command.Parameters.AddWithValue("ttl", _ttl);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return new Lease(name, Node.Instance, reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1));
    }

    /// <summary>Renews the lease for another <see cref="Ttl"/>; false when it is no longer this node's.</summary>
    public async Task<bool> RenewAsync(Lease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return await ExecuteAsync(
            "UPDATE cluster_lease SET expires_at = clock_timestamp() + @ttl WHERE name = @name AND owner = @owner AND fence = @fence",
            p =>
            {
                p.AddWithValue("ttl", _ttl);
                p.AddWithValue("name", lease.Name);
                p.AddWithValue("owner", lease.Owner);
                p.AddWithValue("fence", lease.Number);
            }, cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>
    /// Keeps <paramref name="lease"/> renewed every third of <see cref="Ttl"/> until disposed, for work under a lease in a
    /// process that runs no heartbeat (<c>run --once</c>, <c>retry</c>); a running node's heartbeat renews it anyway.
    /// A renewal that fails is left to the fence: the next write is refused when the lease has gone.
    /// </summary>
    public IAsyncDisposable KeepRenewed(Lease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return new Periodic(_ttl / 3, ct => RenewAsync(lease, ct), health: null);
    }

    /// <summary>
    /// Runs <see cref="KeepAliveAsync"/> every third of <see cref="Ttl"/> until disposed: a node's heartbeat. A beat the
    /// database does not answer is tried again at the next one; <paramref name="health"/> hears each beat's outcome
    /// (null when it went through), so the caller can say when the heartbeat fails and when it works again.
    /// </summary>
    public IAsyncDisposable KeepBeating(Action<Exception?>? health = null) =>
        new Periodic(_ttl / 3, async ct =>
        {
            await KeepAliveAsync(ct).ConfigureAwait(false);
            return true;
        }, health);

    /// <summary>One call every <c>interval</c> until disposed (or until the call says to stop by returning false).</summary>
    private sealed class Periodic : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public Periodic(TimeSpan interval, Func<CancellationToken, Task<bool>> call, Action<Exception?>? health) => _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(interval, _stop.Token).ConfigureAwait(false);
                    if (!await call(_stop.Token).ConfigureAwait(false))
                    {
                        return;
                    }

                    health?.Invoke(null);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException)
                {
                    // The database did not answer this time; the fences decide meanwhile whether the holds still hold.
                    health?.Invoke(e);
                }
            }
        }, CancellationToken.None);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await _loop.ConfigureAwait(false);
            _stop.Dispose();
        }
    }

    /// <summary>Gives the lease back (when it is still this node's).</summary>
    public Task ReleaseAsync(Lease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return ExecuteAsync(
            "UPDATE cluster_lease SET owner = NULL, expires_at = clock_timestamp() WHERE name = @name AND owner = @owner AND fence = @fence",
            p =>
            {
                p.AddWithValue("name", lease.Name);
                p.AddWithValue("owner", lease.Owner);
                p.AddWithValue("fence", lease.Number);
            }, cancellationToken);
    }

    /// <summary>
    /// Queues listed messages (or outbox files: one kind, one account's folder at a time) under the lister's lease
    /// (refused with <see cref="FencedOffException"/> when it no longer holds); one already queued stays as it is. Idle
    /// workers on every node are woken.
    /// </summary>
    /// <returns>How many were new in the queue.</returns>
    public async Task<int> EnqueueAsync(Lease lease, IReadOnlyList<WorkItem> items, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0)
        {
            return 0;
        }

        await using var connection = await _data.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await lease.CheckAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("""
            INSERT INTO work_item (kind, account, folder, source_key, uid_validity, uid, listed, enqueued_at)
            SELECT @kind, @account, @folder, k, v, u, l, clock_timestamp() + (o * interval '1 microsecond')
            FROM unnest(@keys, @validities, @uids, @listed) WITH ORDINALITY AS t(k, v, u, l, o)
            ON CONFLICT (kind, account, folder, source_key) DO NOTHING
            """, connection, transaction);
        command.Parameters.AddWithValue("kind", Kind(items[0].Kind));
        command.Parameters.AddWithValue("account", items[0].Account);
        command.Parameters.AddWithValue("folder", items[0].Folder);
        command.Parameters.AddWithValue("keys", items.Select(i => i.SourceKey).ToArray());
        command.Parameters.Add(new NpgsqlParameter("validities", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = items.Select(i => (long?)i.UidValidity).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("uids", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = items.Select(i => (long?)i.Uid).ToArray() });
        command.Parameters.AddWithValue("listed", items.Select(i => i.Listed).ToArray());
        if (items.Any(i => i.Kind != items[0].Kind || i.Account != items[0].Account || i.Folder != items[0].Folder))
        {
            throw new ArgumentException("one kind of one account's folder at a time", nameof(items));
        }

        var added = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        if (added > 0)
        {
            await using var notify = new NpgsqlCommand($"NOTIFY {ClusterSchema.WorkChannel}", connection, transaction);
            await notify.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return added;
    }

    /// <summary>
    /// Claims up to <paramref name="max"/> waiting items of one kind of one account's folder (the one waiting longest),
    /// oldest first: free ones and those whose claim expired (a node died or was cut off). Rows another worker is
    /// claiming at this moment are skipped, never waited for. Each claim gets a new fencing number.
    /// </summary>
    /// <param name="account">Only this account's items (<c>run --once</c> works through its own); null for any.</param>
    /// <param name="kind">Only items of this kind; null for any (a batch is of one kind all the same).</param>
    public async Task<IReadOnlyList<Claim>> ClaimAsync(int max, CancellationToken cancellationToken, string? account = null, WorkKind? kind = null)
    {
        await using var command = _data.CreateCommand("""
            WITH first AS (
                SELECT kind, account, folder FROM work_item
                WHERE (claimed_by IS NULL OR claim_expires <= clock_timestamp()) AND (@account::text IS NULL OR account = @account::text)
                  AND (@kind::text IS NULL OR kind = @kind::text) AND (not_before IS NULL OR not_before <= clock_timestamp())
                ORDER BY enqueued_at LIMIT 1
                FOR UPDATE SKIP LOCKED),
            picked AS (
                SELECT w.kind, w.account, w.folder, w.source_key FROM work_item w
                JOIN first f ON w.kind = f.kind AND w.account = f.account AND w.folder = f.folder
                WHERE (w.claimed_by IS NULL OR w.claim_expires <= clock_timestamp()) AND (w.not_before IS NULL OR w.not_before <= clock_timestamp())
                ORDER BY w.enqueued_at LIMIT @max
                FOR UPDATE OF w SKIP LOCKED)
            UPDATE work_item w
            SET claimed_by = @owner, claim_expires = clock_timestamp() + @ttl, fence = nextval('cluster_fence'), claims = w.claims + 1
            FROM picked p
            WHERE w.kind = p.kind AND w.account = p.account AND w.folder = p.folder AND w.source_key = p.source_key
            RETURNING w.account, w.folder, w.source_key, w.uid_validity, w.uid, w.listed, w.fence, w.claims, w.enqueued_at, w.kind
            """);
        command.Parameters.AddWithValue("max", max);
        command.Parameters.Add(new NpgsqlParameter("account", NpgsqlDbType.Text) { Value = (object?)account ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("kind", NpgsqlDbType.Text) { Value = kind is { } k ? Kind(k) : DBNull.Value });
        command.Parameters.AddWithValue("owner", Node.Instance);
        command.Parameters.AddWithValue("ttl", _ttl);
        var claims = new List<(Claim Claim, DateTimeOffset Enqueued)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var item = new WorkItem(
                    reader.GetString(0), reader.GetString(1), reader.GetString(2),
                    reader.IsDBNull(3) ? null : checked((uint)reader.GetInt64(3)),
                    reader.IsDBNull(4) ? null : checked((uint)reader.GetInt64(4)),
                    reader.GetBoolean(5)) { Kind = State.EnumText<WorkKind>.Read(reader.GetString(9)) };
                var claim = new Claim(item, Node.Instance, reader.GetInt64(6), reader.GetInt32(7));
                _held[claim] = 0;
                claims.Add((claim, reader.GetFieldValue<DateTimeOffset>(8)));
            }
        }

        return [.. claims.OrderBy(c => c.Enqueued).Select(c => c.Claim)];
    }

    /// <summary>Stops renewing a claim this worker no longer works on (it was taken over: its fence refused a write).</summary>
    public void Forget(Claim claim)
    {
        ArgumentNullException.ThrowIfNull(claim);
        _held.TryRemove(claim, out _);
    }

    /// <summary>Removes a finished message from the queue (when the claim is still this worker's).</summary>
    /// <returns>False when the claim had been taken over: the other node finishes it.</returns>
    public async Task<bool> CompleteAsync(Claim claim, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        _held.TryRemove(claim, out _);
        if (claim.Finished)
        {
            return true; // Taken off the queue by the commit that recorded the message done.
        }

        return await ExecuteAsync(
            "DELETE FROM work_item WHERE kind = @kind AND account = @account AND folder = @folder AND source_key = @key AND claimed_by = @owner AND fence = @fence",
            p => ClaimParameters(p, claim), cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>
    /// Gives a claimed message back to the queue. Untouched (<paramref name="begun"/> false: shutdown came first), it does
    /// not count as a claim; after a failure it waits <paramref name="backoff"/> before any worker claims it again.
    /// </summary>
    public async Task ReleaseAsync(Claim claim, CancellationToken cancellationToken, bool begun = false, TimeSpan backoff = default)
    {
        ArgumentNullException.ThrowIfNull(claim);
        _held.TryRemove(claim, out _);
        await ExecuteAsync(
            """
            UPDATE work_item SET claimed_by = NULL, claim_expires = NULL, claims = claims - CASE WHEN @begun THEN 0 ELSE 1 END,
                not_before = CASE WHEN @backoff > interval '0' THEN clock_timestamp() + @backoff END
            WHERE kind = @kind AND account = @account AND folder = @folder AND source_key = @key AND claimed_by = @owner AND fence = @fence
            """,
            p =>
            {
                ClaimParameters(p, claim);
                p.AddWithValue("begun", begun);
                p.AddWithValue("backoff", backoff);
            }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits until a lister notifies queued work, or <paramref name="timeout"/> passes (expired claims wake nobody).</summary>
    public async Task WaitForWorkAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        await using var connection = await _data.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (var listen = new NpgsqlCommand($"LISTEN {ClusterSchema.WorkChannel}", connection))
        {
            await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await WaitListeningAsync(connection, timeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // The pool does not reset a connection given back (StateStores.WithSessionLimits): stop listening first. Should
            // that fail, the connection's next user only reads past a notification it does not wait for.
            if (connection.State == System.Data.ConnectionState.Open)
            {
                try
                {
                    await using var unlisten = new NpgsqlCommand($"UNLISTEN {ClusterSchema.WorkChannel}", connection);
                    await unlisten.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
                {
                    // Broken by a cancelled wait: the pool drops it.
                }
            }
        }
    }

    private static async Task WaitListeningAsync(NpgsqlConnection connection, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // Work queued between the last claim and the LISTEN sent no notification this connection saw: look once more.
        // Rows another session holds locked are skipped, as a claim skips them, so they do not make this wait a busy loop.
        await using (var waiting = new NpgsqlCommand("""
            SELECT 1 FROM work_item
            WHERE (claimed_by IS NULL OR claim_expires <= clock_timestamp()) AND (not_before IS NULL OR not_before <= clock_timestamp())
            LIMIT 1 FOR UPDATE SKIP LOCKED
            """, connection))
        {
            if (await waiting.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null)
            {
                return;
            }
        }

        await connection.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Nodes, leases and the queue, as <c>rulemail cluster status</c> and <c>/readyz</c> show them.</summary>
    /// <param name="self">The instance to name as answering (a node's <c>/readyz</c>), or null.</param>
    public async Task<ClusterStatusDocument> StatusAsync(string? self, CancellationToken cancellationToken)
    {
        await using var connection = await _data.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var nodes = new List<ClusterNodeDocument>();
        await using (var command = new NpgsqlCommand("""
            SELECT instance, node, host, pid, version, started_at, last_seen, stopped_at, clock_timestamp(),
                   (SELECT count(*) FROM work_item w WHERE w.claimed_by = n.instance AND w.claim_expires > clock_timestamp())
            FROM cluster_node n
            WHERE stopped_at IS NULL OR stopped_at > clock_timestamp() - interval '1 day'
            ORDER BY node, started_at
            """, connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var lastSeen = reader.GetFieldValue<DateTimeOffset>(6);
                var stopped = reader.IsDBNull(7) ? (DateTimeOffset?)null : reader.GetFieldValue<DateTimeOffset>(7);
                var now = reader.GetFieldValue<DateTimeOffset>(8);
                var state = stopped is not null ? "stopped" : now - lastSeen <= _ttl ? "alive" : "gone";
                if (state == "gone" && now - lastSeen > TimeSpan.FromDays(1))
                {
                    continue;
                }

                nodes.Add(new ClusterNodeDocument(
                    reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetString(4),
                    reader.GetFieldValue<DateTimeOffset>(5), lastSeen, state, reader.GetInt64(9)));
            }
        }

        var leases = new List<ClusterLeaseDocument>();
        await using (var command = new NpgsqlCommand(
            "SELECT name, owner, expires_at, fence FROM cluster_lease WHERE owner IS NOT NULL AND expires_at > clock_timestamp() ORDER BY name", connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                leases.Add(new ClusterLeaseDocument(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetInt64(3)));
            }
        }

        // The queue of each kind (every kind, none waiting or not), so outgoing work is as visible as incoming.
        await using (var command = new NpgsqlCommand("""
            SELECT k.kind,
                   count(w.kind) FILTER (WHERE w.claimed_by IS NULL OR w.claim_expires <= clock_timestamp()),
                   count(w.kind) FILTER (WHERE w.claimed_by IS NOT NULL AND w.claim_expires > clock_timestamp()),
                   min(w.enqueued_at) FILTER (WHERE w.claimed_by IS NULL OR w.claim_expires <= clock_timestamp()),
                   clock_timestamp()
            FROM unnest(@kinds) AS k(kind) LEFT JOIN work_item w ON w.kind = k.kind
            GROUP BY k.kind
            """, connection))
        {
            command.Parameters.AddWithValue("kinds", Enum.GetValues<WorkKind>().Select(Kind).ToArray());
            var kinds = new List<ClusterQueueKindDocument>();
            var at = DateTimeOffset.MinValue;
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    kinds.Add(new ClusterQueueKindDocument(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2),
                        reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3)));
                    at = reader.GetFieldValue<DateTimeOffset>(4);
                }
            }

            kinds = [.. Enum.GetValues<WorkKind>().Select(k => kinds.Single(d => d.Kind == Kind(k)))];
            var oldest = kinds.Select(k => k.OldestWaiting).Where(o => o is not null).Min();
            return new ClusterStatusDocument(self, at, nodes, leases,
                new ClusterQueueDocument(kinds.Sum(k => k.Waiting), kinds.Sum(k => k.Claimed), oldest) { Kinds = kinds });
        }
    }

    public ValueTask DisposeAsync() => _data.DisposeAsync();

    private static void ClaimParameters(NpgsqlParameterCollection p, Claim claim)
    {
        ArgumentNullException.ThrowIfNull(claim);
        p.AddWithValue("kind", Kind(claim.Item.Kind));
        p.AddWithValue("account", claim.Item.Account);
        p.AddWithValue("folder", claim.Item.Folder);
        p.AddWithValue("key", claim.Item.SourceKey);
        p.AddWithValue("owner", claim.Owner);
        p.AddWithValue("fence", claim.Number);
    }

    private async Task<int> ExecuteAsync(string sql, Action<NpgsqlParameterCollection> parameters, CancellationToken cancellationToken)
    {
        await using var command = _data.CreateCommand(sql);
        parameters(command.Parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static string Kind(WorkKind kind) => State.EnumText<WorkKind>.Write(kind);

    internal static string Format(DateTimeOffset at) => at.UtcDateTime.ToString("u", CultureInfo.InvariantCulture);
}
