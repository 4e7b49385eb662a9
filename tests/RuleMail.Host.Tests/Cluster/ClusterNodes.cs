using System.Globalization;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Cluster;

/// <summary>
/// A cluster for one test: a fresh database on the run's PostgreSQL, one mailbox (a Dovecot mailbox over IMAP, or a Maildir
/// all nodes read), a webhook receiver, the shipped rules plus a webhook rule for every incoming message, and real
/// <c>rulemail run</c> processes as its nodes (each with its own <c>RULEMAIL_NODE</c>), which the test kills, pauses and restarts.
/// </summary>
internal sealed class ClusterNodes : IAsyncDisposable
{
    public const string User = "support";
    public const string Password = "imap-secret";
    public const string ConnectionVariable = "RULEMAIL_TEST_PG";

    private readonly List<ServerProcess> _nodes = [];
    private readonly Dictionary<string, ServerProcess> _byName = new(StringComparer.Ordinal);
    private readonly HostHarness _harness = HostHarness.Create();
    private readonly List<string> _delivered = [];

    private ClusterNodes(string connectionString, ClusterMailbox mailbox, WebhookListener webhook)
    {
        ConnectionString = connectionString;
        Mailbox = mailbox;
        Webhook = webhook;
    }

    public string ConnectionString { get; }

    public ClusterMailbox Mailbox { get; }

    /// <summary>The Dovecot server of a cluster fetching over IMAP.</summary>
    public DovecotServer Dovecot => (Mailbox as ImapClusterMailbox)?.Dovecot ?? throw new InvalidOperationException("this cluster fetches a Maildir");

    /// <summary>The Message-IDs of what <see cref="AppendMixAsync"/> delivered.</summary>
    public IReadOnlyList<string> Delivered => _delivered;

    public WebhookListener Webhook { get; }

    public string ConfigPath => _harness.ConfigPath;

    public HostHarness Harness => _harness;

    /// <summary>Sets up the cluster's files; <paramref name="extraAccountYaml"/> is appended to the account (e.g. a send: section).</summary>
    /// <param name="ownKeyStore">A copy of the sample key store the test may change (the sample's own otherwise).</param>
    /// <param name="mailbox">What the account fetches (unless <paramref name="fetch"/> is false).</param>
    public static async Task<ClusterNodes> CreateAsync(
        PostgresServer postgres, int leaseSeconds = 3, string extraAccountYaml = "", bool fetch = true, bool ownKeyStore = false, MailboxKind mailbox = MailboxKind.Imap)
    {
        var connection = await postgres.CreateDatabaseAsync();
        ClusterMailbox box = mailbox == MailboxKind.Maildir ? new MaildirClusterMailbox() : await ImapClusterMailbox.StartAsync();
        var nodes = new ClusterNodes(connection, box, WebhookListener.Start());
        nodes._harness.AddWebhookRule(nodes.Webhook.Url);
        var keystore = ownKeyStore ? nodes._harness.CopyKeyStore() : Path.Combine(HostHarness.RepositoryRoot, "keystore-sample");
        var fetchYaml = fetch
            ? $"""
                  fetch:
                    every: 1s
              {box.FetchYaml}
              """
            : string.Empty;
        File.WriteAllText(nodes._harness.ConfigPath, $"""
            keystore: {keystore}
            keystore_passphrase_file: {Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "passphrase.txt")}
            rules: {nodes._harness.RulesDirectory}
            state:
              postgres:
                connection_env: {ConnectionVariable}
            cluster:
              lease_seconds: {leaseSeconds}
              workers: 2
              batch: 8
            accounts:
              - name: support
                address: support@rulemail.test
            {fetchYaml}
            {extraAccountYaml}
            """);

        // The schema first (as rulemail cluster status does), so the test can read the cluster's tables before a node is up.
        await using (await nodes.OpenStateAsync())
        {
        }

        return nodes;
    }

    /// <summary>Delivers <paramref name="count"/> messages to the mailbox: every tenth a tampered S/MIME message (quarantined), the rest plain.</summary>
    public async Task<int> AppendMixAsync(int count)
    {
        var tampered = HostHarness.DemoMessage("smime-tampered");
        var messages = new List<MimeKit.MimeMessage>();
        var failed = 0;
        try
        {
            for (var i = 0; i < count; i++)
            {
                if (i % 10 == 9)
                {
                    using var stream = new MemoryStream(tampered, writable: false);
                    var message = await MimeKit.MimeMessage.LoadAsync(stream);
                    message.MessageId = string.Create(CultureInfo.InvariantCulture, $"cluster-tampered-{i}@customer.test"); // Outside the signed part.
                    messages.Add(message);
                    failed++;
                }
                else
                {
                    messages.Add(HostHarness.PlainQuestion(string.Create(CultureInfo.InvariantCulture, $"cluster-{i}")));
                }
            }

            await Mailbox.DeliverAsync(messages);
            _delivered.AddRange(messages.Select(m => m.MessageId!));
            return failed;
        }
        finally
        {
            foreach (var message in messages)
            {
                message.Dispose();
            }
        }
    }

    /// <summary>Starts <c>rulemail run</c> as node <paramref name="name"/> (a new instance when the name ran before).</summary>
    public ServerProcess Start(string name)
    {
        var node = ServerProcess.Start(
            DotnetPath(),
            [Path.Combine(AppContext.BaseDirectory, "rulemail.dll"), "run", "--config", ConfigPath],
            _harness.Folder.Path,
            "install the .NET SDK",
            new Dictionary<string, string?>
            {
                [ConnectionVariable] = ConnectionString,
                ["RULEMAIL_NODE"] = name,
                ["SUPPORT_PASSWORD"] = Password,
                ["RULEMAIL_KEYSTORE_PASSPHRASE"] = null,
            });
        _nodes.Add(node);
        _byName[name] = node;
        return node;
    }

    public ServerProcess this[string name] => _byName[name];

    /// <summary>Runs a <c>rulemail</c> command (not a node) with the cluster's configuration and connection variable.</summary>
    public RuleMail.Core.Tests.Support.ToolResult Cli(params string[] arguments) =>
        RuleMail.Core.Tests.Support.ExternalTool.TryRun(DotnetPath(), [Path.Combine(AppContext.BaseDirectory, "rulemail.dll"), .. arguments, "--config", ConfigPath],
            new RuleMail.Core.Tests.Support.ToolOptions
            {
                WorkingDirectory = _harness.Folder.Path,
                Environment = new Dictionary<string, string> { [ConnectionVariable] = ConnectionString, ["SUPPORT_PASSWORD"] = Password },
                Timeout = TimeSpan.FromMinutes(1),
            });

    /// <summary>Every node's output, for a failure message.</summary>
    public string Output => string.Join("\n", _byName.Select(n => $"==== {n.Key} ====\n{n.Value.Output}"));

    /// <summary>Opens the shared state, as any node does.</summary>
    public Task<IStateStore> OpenStateAsync() =>
        StateStores.OpenAsync(new Configuration.RuleMailConfig
        {
            State = new Configuration.StateConfig { Path = null, Postgres = new Configuration.PostgresStateConfig { ConnectionEnv = ConnectionVariable } },
        }, n => n == ConnectionVariable ? ConnectionString : null, exclusive: false, CancellationToken.None);

    /// <summary>The nodes alive in the cluster now, by name, as <c>rulemail cluster status</c> reads them.</summary>
    public async Task<IReadOnlyList<string>> AliveAsync()
    {
        await using var cluster = new Host.Cluster.PostgresCluster(ConnectionString, new Host.Cluster.ClusterNode("test", "test/0/0"), TimeSpan.FromSeconds(3));
        var status = await cluster.StatusAsync(null, CancellationToken.None);
        return [.. status.Nodes.Where(n => n.State == "alive").Select(n => n.Node)];
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with every node's output when it does not within <paramref name="limit"/>.</summary>
    public async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan limit, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"{what} did not happen within {limit.TotalSeconds:0} s\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Waits until the ledger has <paramref name="count"/> entries of the account, all done, and the queue is empty.</summary>
    public Task WaitForAllDoneAsync(int count, TimeSpan limit) => WaitUntilAsync(async () =>
    {
        await using var state = await OpenStateAsync();
        var counts = await state.CountMessagesAsync("support", CancellationToken.None);
        return counts.GetValueOrDefault(MessageState.Done) == count && await QueueLengthAsync() == 0;
    }, limit, $"{count} messages done");

    public async Task<long> QueueLengthAsync()
    {
        await using var connection = new Npgsql.NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT count(*) FROM work_item", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            node.Dispose();
        }

        await Webhook.DisposeAsync();
        await Mailbox.DisposeAsync();
        _harness.Dispose();
    }

    private static string DotnetPath()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
        {
            return host;
        }

        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
        {
            var candidate = Path.Combine(folder, "dotnet");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("dotnet is not on PATH");
    }
}
