using System.Globalization;
using Npgsql;
using RuleMail.Core.Tests.Support;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Benchmarks.Cluster;

/// <summary>
/// A PostgreSQL server for the cluster benchmark, set up the way a product install runs it: <c>initdb</c> into a temp
/// folder and <c>pg_ctl start</c> with PostgreSQL's default settings (fsync, synchronous commit and full page writes
/// on) apart from a free loopback port and the unix socket in the folder. Unlike the tests' server it is durable,
/// because the benchmark measures what a commit costs. Disposing stops it (fast shutdown) and deletes the folder.
/// </summary>
/// <remarks>initdb and postgres refuse root: as root, both run as Debian's <c>postgres</c> user through runuser.</remarks>
internal sealed class PostgresInstance : IAsyncDisposable
{
    private const string Superuser = "rulemail";
    private readonly TempDirectory _root = new("bench-postgres");
    private readonly string? _runAs = ExternalTool.Run("id", ["-u"]).StandardOutputText.Trim() == "0" ? "postgres" : null;
    private int _databases;
    private bool _started;

    private PostgresInstance()
    {
    }

    public int Port { get; private set; }

    /// <summary>The postmaster's process id (its backends are its children), for CPU accounting.</summary>
    public int ProcessId => int.Parse(File.ReadLines(Path.Combine(Data, "postmaster.pid")).First(), CultureInfo.InvariantCulture);

    /// <summary>The server's version, e.g. "PostgreSQL 15.14 (Debian ...)".</summary>
    public string Version { get; private set; } = "";

    private string Data => _root.File("data");

    public static async Task<PostgresInstance> StartAsync()
    {
        var instance = new PostgresInstance();
        try
        {
            await instance.InitializeAsync();
            return instance;
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"bench_{Interlocked.Increment(ref _databases)}");
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await create.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public async ValueTask DisposeAsync()
    {
        if (_started)
        {
            Tool("pg_ctl", ["stop", "-D", Data, "-m", "fast", "-w", "-t", "30"], check: false);
            _started = false;
        }

        NpgsqlConnection.ClearAllPools();
        await Task.Yield();
        _root.Dispose();
    }

    private async Task InitializeAsync()
    {
        if (_runAs is not null)
        {
            ExternalTool.Run("chown", ["-R", $"{_runAs}:", _root.Path]);
        }

        // --no-sync only skips initdb's own flush of the new cluster; the server below runs with fsync on.
        Tool("initdb", ["-D", Data, "-U", Superuser, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"], check: true);
        Port = LoopbackPort.PickFree();
        var options = string.Create(CultureInfo.InvariantCulture, $"-p {Port} -k {_root.Path}");
        Tool("pg_ctl", ["start", "-D", Data, "-l", _root.File("postgres.log"), "-o", options, "-w", "-t", "60"], check: true);
        _started = true;
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var version = new NpgsqlCommand("SELECT version() || ', fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit')", connection);
        Version = (string)(await version.ExecuteScalarAsync())!;
    }

    private string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = LoopbackPort.Host,
        Port = Port,
        Username = Superuser,
        Database = database,
    }.ConnectionString;

    private void Tool(string name, IReadOnlyList<string> arguments, bool check)
    {
        var program = Program(name);
        IReadOnlyList<string> command = _runAs is null ? arguments : ["-u", _runAs, "--", program, .. arguments];
        var result = ExternalTool.TryRun(_runAs is null ? program : "runuser", command, new ToolOptions { WorkingDirectory = _root.Path, Timeout = TimeSpan.FromMinutes(2) });
        if (check && result.ExitCode != 0)
        {
            var log = File.Exists(_root.File("postgres.log")) ? File.ReadAllText(_root.File("postgres.log")) : "";
            throw new InvalidOperationException($"{result.CommandLine} failed ({result.ExitCode}): {result.StandardError}\n{log}");
        }
    }

    /// <summary>A PostgreSQL program from Debian's newest /usr/lib/postgresql/VERSION/bin, else from PATH.</summary>
    private static string Program(string name)
    {
        const string debian = "/usr/lib/postgresql";
        var found = Directory.Exists(debian)
            ? Directory.GetDirectories(debian)
                .OrderByDescending(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1)
                .Select(d => Path.Combine(d, "bin", name))
                .FirstOrDefault(File.Exists)
            : null;
        return found ?? name;
    }
}
