using System.Diagnostics;
using System.Globalization;
using Npgsql;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Host.Tests.Support;

/// <summary>
/// A real PostgreSQL for the test run (<see cref="PostgresTests"/>): <c>initdb</c> into its own temp folder, then
/// <c>postgres</c> in the foreground as this process's child, on 127.0.0.1 at a free port with its unix socket in the
/// folder, and without fsync (a test database need not survive a power cut). Each test takes a fresh, empty database
/// of its own (<see cref="CreateDatabaseAsync"/>). Disposing stops the server (immediate shutdown, then a kill) and
/// deletes the folder; a server still running when the test process exits is killed (<see cref="ServerProcess"/>).
/// </summary>
/// <remarks>
/// initdb and postgres refuse to run as root: run as root (as the tests and CI are), both run as the <c>postgres</c>
/// system user that Debian's package creates, with the folder given to it; run as anyone else, as that user. The
/// programs come from PATH or <c>/usr/lib/postgresql/*/bin</c>; when they are missing the fixture fails with how to
/// install them, never skips. Thread-safe.
/// </remarks>
public sealed class PostgresServer : IAsyncLifetime, IAsyncDisposable
{
    /// <summary>The superuser initdb creates; logins from loopback and the socket are trusted.</summary>
    public const string User = "rulemail";

    private const string InstallHint = "Debian: apt-get install postgresql";
    private const string SystemUser = "postgres";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _root = new("postgres");
    private ServerProcess? _process;
    private NpgsqlDataSource? _admin;
    private int _databases;

    public string Host { get; } = LoopbackPort.Host;

    public int Port { get; private set; }

    public string Root => _root.Path;

    public bool IsRunning => _process is { HasExited: false };

    private string DataDirectory => _root.File("data");

    public async Task InitializeAsync()
    {
        try
        {
            await StartAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    private async Task StartAsync()
    {
        var initdb = FindProgram("initdb", SearchDirectories());
        var postgres = FindProgram("postgres", SearchDirectories());
        var asUser = RunAs();
        Directory.CreateDirectory(_root.File("run"));
        if (asUser is not null)
        {
            ExternalTool.Run("chown", ["-R", $"{SystemUser}:", _root.Path]);
        }

        Run(asUser, initdb, ["-D", DataDirectory, "-U", User, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]);
        for (var attempt = 1; ; attempt++)
        {
            Port = LoopbackPort.PickFree();
            var (program, arguments) = Command(asUser, postgres,
            [
                "-D", DataDirectory,
                "-p", Port.ToString(CultureInfo.InvariantCulture),
                "-c", "listen_addresses=" + LoopbackPort.Host,
                "-c", "unix_socket_directories=" + _root.File("run"),
                "-c", "fsync=off",
                "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off",
                "-c", "max_connections=200",
            ]);
            _process = ServerProcess.Start(program, arguments, _root.Path, InstallHint);
            if (await WaitUntilReadyAsync())
            {
                break;
            }

            // A parallel test may have taken the port between the probe and the bind: pick another.
            var output = _process.Output;
            _process.Dispose();
            _process = null;
            if (attempt == 5 || !output.Contains("already in use", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"PostgreSQL did not start ({program} {string.Join(' ', arguments)}):\n{output}");
            }
        }

        _admin = NpgsqlDataSource.Create(ConnectionString("postgres"));
    }

    /// <summary>A new, empty database (no RuleMail schema) only the caller uses; its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var admin = _admin ?? throw new InvalidOperationException("PostgreSQL has not started");
        var name = "test_" + Interlocked.Increment(ref _databases).ToString(CultureInfo.InvariantCulture);

        // A generated name, never a caller's: identifiers cannot be parameters.
        await using var create = admin.CreateCommand($"CREATE DATABASE \"{name}\";");
        await create.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    /// <summary>How to reach <paramref name="database"/> on this server as <see cref="User"/>.</summary>
    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = Host,
        Port = Port,
        Username = User,
        Database = database,
        Timeout = 10,
        IncludeErrorDetail = true,
    }.ConnectionString;

    public async Task DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
            _admin = null;
        }

        if (_process is not null)
        {
            if (!_process.HasExited)
            {
                // Immediate shutdown removes the server's shared memory, which a kill would leave behind.
                var pgCtl = FindProgram("pg_ctl", SearchDirectories());
                var (program, arguments) = Command(RunAs(), pgCtl, ["stop", "-D", DataDirectory, "-m", "immediate", "-w", "-t", "10"]);
                ExternalTool.TryRun(program, arguments, new ToolOptions { Timeout = TimeSpan.FromSeconds(20) });
            }

            _process.Dispose();
            _process = null;
        }

        _root.Dispose();
    }

    ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());

    /// <summary>
    /// The full path of <paramref name="name"/> in the first of <paramref name="directories"/> that has it.
    /// </summary>
    /// <exception cref="ExternalToolException">None has it: the message says how to install PostgreSQL.</exception>
    internal static string FindProgram(string name, IEnumerable<string> directories)
    {
        foreach (var directory in directories)
        {
            var path = Path.Combine(directory, name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new ExternalToolException(
            $"{name} is needed by the PostgreSQL state tests but is not installed (looked on PATH and in /usr/lib/postgresql/*/bin); install it ({InstallHint})");
    }

    /// <summary>PATH, then Debian's per-version folders, newest version first.</summary>
    internal static IEnumerable<string> SearchDirectories()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            yield return directory;
        }

        const string debian = "/usr/lib/postgresql";
        if (!Directory.Exists(debian))
        {
            yield break;
        }

        var versions = Directory.GetDirectories(debian)
            .Select(d => (Directory: d, Version: int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1))
            .OrderByDescending(d => d.Version);
        foreach (var (directory, _) in versions)
        {
            yield return Path.Combine(directory, "bin");
        }
    }

    /// <summary>The user to run PostgreSQL as through runuser, or null to run it as this process's user (not root).</summary>
    private static string? RunAs()
    {
        if (ExternalTool.Run("id", ["-u"]).StandardOutputText.Trim() != "0")
        {
            return null;
        }

        if (ExternalTool.TryRun("id", ["-u", SystemUser]).ExitCode != 0)
        {
            throw new ExternalToolException(
                $"the PostgreSQL tests run as root, and PostgreSQL refuses root: they run it as the '{SystemUser}' user, which does not exist; install the package that creates it ({InstallHint})");
        }

        return SystemUser;
    }

    private static (string Program, IReadOnlyList<string> Arguments) Command(string? asUser, string program, IReadOnlyList<string> arguments) =>
        asUser is null
            ? (program, arguments)
            : (FindProgram("runuser", ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]), ["-u", asUser, "--", program, .. arguments]);

    private static void Run(string? asUser, string program, IReadOnlyList<string> arguments)
    {
        var (command, commandArguments) = Command(asUser, program, arguments);
        ExternalTool.Run(command, commandArguments);
    }

    /// <summary>Polls a login until the server takes it; false when it exits or stays unready.</summary>
    private async Task<bool> WaitUntilReadyAsync()
    {
        var deadline = Stopwatch.StartNew();
        var probe = new NpgsqlConnectionStringBuilder(ConnectionString("postgres")) { Pooling = false, Timeout = 2 }.ConnectionString;
        while (deadline.Elapsed < StartTimeout)
        {
            if (_process is null || _process.HasExited)
            {
                return false;
            }

            try
            {
                await using var connection = new NpgsqlConnection(probe);
                await connection.OpenAsync();
                return true;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                // Not listening yet, or "the database system is starting up".
            }

            await Task.Delay(50);
        }

        return false;
    }
}

/// <summary>The tests on PostgreSQL share one server (<see cref="PostgresServer"/>), each with databases of its own.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresTests : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}
