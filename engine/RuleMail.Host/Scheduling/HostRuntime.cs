using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RuleMail.Host.Configuration;
using RuleMail.Host.Processing;
using RuleMail.Host.State;
using RuleMail.Keys;
using RuleMail.Rules;

namespace RuleMail.Host.Scheduling;

/// <summary>Everything a host process runs on, opened once and in order: key store, rules, state, and a runner per account.</summary>
public sealed class HostRuntime : IAsyncDisposable
{
    private ServiceProvider? _owned;

    private HostRuntime(HostServices services, int privateKeys)
    {
        Services = services;
        PrivateKeys = privateKeys;
        Accounts = [.. services.Config.Accounts.Select(a => new AccountRunner(services, a))];
    }

    public HostServices Services { get; }

    public IReadOnlyList<AccountRunner> Accounts { get; }

    /// <summary>Remembers, per job, whether its server was unreachable, so an outage is reported once and retried with backoff.</summary>
    internal JobHealth Health { get; } = new();

    /// <summary>How many key store entries hold a private key; all of them were opened at start.</summary>
    public int PrivateKeys { get; }

    /// <summary>
    /// Opens the runtime from the composition root (<see cref="RuleMailHostServices.AddRuleMailHost"/>): the key store
    /// with every private key, the rules, the password variables and the state database — in that order, and failing
    /// closed: whatever is wrong stops the host before the state is touched, and nothing runs on an empty or partial
    /// view (an unreadable store, locked keys, a broken rule file).
    /// </summary>
    /// <exception cref="RuleMailException">
    /// The key store cannot be read or unlocked, the rules do not load or judge no incoming mail while an account
    /// fetches, a password variable is missing, or the state is held by another host or refused.
    /// </exception>
    public static HostRuntime Open(IServiceProvider provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        var config = provider.GetRequiredService<RuleMailConfig>();

        // Locked keys are an operational error, never a verdict on a message ("cannot be decrypted", for good).
        var store = provider.GetRequiredService<KeyStore>();
        _ = provider.GetRequiredService<RuleSetSource>(); // Loaded whole, and refused when it judges no fetched mail (LoadHostRules).

        // Every password variable is checked now, so a missing one shows at start, not on the first run.
        var environment = provider.GetRequiredService<EnvironmentVariables>();
        foreach (var account in config.Accounts)
        {
            foreach (var (protocol, server) in new[] { ("imap", account.Fetch?.Imap), ("pop3", account.Fetch?.Pop3), ("smtp", account.Send?.Smtp) })
            {
                if (server is not null)
                {
                    _ = Transport.ServerEndpoint.From(protocol, server, environment.Read);
                }
            }
        }

        var services = provider.GetRequiredService<HostServices>(); // Opens the state: last.
        if (services.Node is not null)
        {
            var root = Path.GetDirectoryName(services.SpoolDirectory)!;
            GuardSpoolRoot(root);
            SweepDeadNodeSpools(root);
        }

        SweepSpool(services.SpoolDirectory);

        return new HostRuntime(services, store.Entries.Count(e => e.HasPrivateKey));
    }

    /// <summary>
    /// Builds the composition root for one host and opens the runtime from it; the runtime owns the container and
    /// disposes it. For a process that runs nothing else (<c>run --once</c>, tests, benchmarks).
    /// </summary>
    public static Task<HostRuntime> OpenAsync(
        RuleMailConfig config, KeyStoreOptions keyStoreOptions, ILoggerFactory logging, TimeProvider time,
        Func<string, string?> environment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyStoreOptions);
        cancellationToken.ThrowIfCancellationRequested();
        var services = new ServiceCollection();
        services.AddSingleton(logging);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        services.AddSingleton(time);
        services.AddRuleMailHost(config, keyStoreOptions, environment);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        try
        {
            var runtime = provider.GetRequiredService<HostRuntime>();
            runtime._owned = provider;
            return Task.FromResult(runtime);
        }
        catch
        {
            provider.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    /// <summary>
    /// Opens the state for this host: a SQLite file for this host alone (see <see cref="SqliteStateStore.OpenExclusiveAsync"/>),
    /// or the PostgreSQL database the nodes of a cluster share.
    /// </summary>
    internal static IStateStore OpenState(RuleMailConfig config, Func<string, string?> environment) =>
        // Resolved once at start, on no synchronization context: waiting here cannot deadlock.
        StateStores.OpenAsync(config, environment, exclusive: true, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Raw messages a killed process left in the spool (they are still in their mailbox); safe under the host lock.</summary>
    private static void SweepSpool(string spool)
    {
        if (!Directory.Exists(spool))
        {
            return;
        }

        foreach (var file in Directory.GetFiles(spool, "*.eml"))
        {
            File.Delete(file);
        }
    }

    /// <summary>
    /// The shared temporary disk's folder of this user's node spools: made 0700, and refused when it is anything else
    /// (another local user made it first, or it is a link), since raw mail waits there.
    /// </summary>
    private static void GuardSpoolRoot(string root)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(root);
            return;
        }

        const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        var folder = Directory.CreateDirectory(root, Private);
        if (folder.LinkTarget is not null || File.GetUnixFileMode(root) != Private)
        {
            throw new RuleMailException($"{root}: the spool folder for raw mail must be this user's own (mode 0700, not a link); remove it or set TMPDIR");
        }
    }

    /// <summary>
    /// The spool folders of this machine's node processes that are no longer running (killed: a graceful stop empties
    /// its own). Their raw messages are still in their mailboxes, and their claims expire and are taken over.
    /// </summary>
    private static void SweepDeadNodeSpools(string root)
    {
        if (!Directory.Exists(root))
        {
            return;
        }

        foreach (var folder in Directory.GetDirectories(root))
        {
            if (Cluster.ClusterNode.ProcessOf(Path.GetFileName(folder)) is { } pid && !Running(pid))
            {
                try
                {
                    Directory.Delete(folder, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Another user's node, or a folder still in use: left as it is.
                }
            }
        }
    }

    private static bool Running(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_owned is { } provider)
        {
            _owned = null;
            await provider.DisposeAsync().ConfigureAwait(false);
        }
    }
}
