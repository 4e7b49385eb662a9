using Microsoft.Extensions.Logging;
using RuleMail.Host.Configuration;
using RuleMail.Host.Processing;
using RuleMail.Host.State;
using RuleMail.Keys;

namespace RuleMail.Host.Hosting;

/// <summary>Everything a host process runs on, opened once: key store, rules, state, HTTP, and a runner per account.</summary>
public sealed class HostRuntime : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly FileStream _lock;

    private HostRuntime(HostServices services, HttpClient http, FileStream hostLock)
    {
        Services = services;
        _http = http;
        _lock = hostLock;
        Accounts = [.. services.Config.Accounts.Select(a => new AccountRunner(services, a))];
    }

    public HostServices Services { get; }

    public IReadOnlyList<AccountRunner> Accounts { get; }

    /// <summary>Remembers, per job, whether its server was unreachable, so an outage is reported once and retried with backoff.</summary>
    public JobHealth Health { get; } = new();

    /// <summary>Opens the key store, loads the rules and opens (creating when needed) the state database.</summary>
    /// <exception cref="RuleMailException">The key store or rules cannot be loaded, or a password variable is missing.</exception>
    public static async Task<HostRuntime> OpenAsync(
        RuleMailConfig config, KeyStoreOptions keyStoreOptions, ILoggerFactory logging, TimeProvider time,
        Func<string, string?> environment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        var store = KeyStore.Open(config.Keystore, keyStoreOptions);
        var rules = config.LoadRules();
        foreach (var error in rules.Errors)
        {
            logging.CreateLogger("RuleMail.Rules").LogWarning("{Error} (the rule is skipped; see rulemail rules lint)", error);
        }

        // Every password variable is checked now, so a missing one shows at start, not on the first run.
        foreach (var account in config.Accounts)
        {
            foreach (var (protocol, server) in new[] { ("imap", account.Fetch?.Imap), ("pop3", account.Fetch?.Pop3), ("smtp", account.Send?.Smtp) })
            {
                if (server is not null)
                {
                    _ = Mail.ServerEndpoint.From(protocol, server, environment);
                }
            }
        }

        var hostLock = Lock(config.State);
        IStateStore state;
        try
        {
            state = await SqliteStateStore.OpenAsync(config.State, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            await hostLock.DisposeAsync().ConfigureAwait(false);
            throw new RuleMailException($"{config.State}: cannot open the state database: {e.Message}", e);
        }

#pragma warning disable CA2000 // Owned by the runtime and disposed with it.
        // No redirects: a 301/302 would turn the webhook's POST into a GET without its body and still look like success.
        var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
#pragma warning restore CA2000
        var services = new HostServices(config, store, rules, state, http, logging, time, environment);
        SweepSpool(services.SpoolDirectory);
        return new HostRuntime(services, http, hostLock);
    }

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
    /// One host per state: a second <c>rulemail run</c> on the same state (say <c>--once</c> while the service runs)
    /// would work on the same messages at the same time. The lock is the operating system's, so a killed
    /// process never leaves it behind.
    /// </summary>
    private static FileStream Lock(string statePath)
    {
        var path = $"{statePath}.lock";
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
        }
        catch (IOException e)
        {
            throw new RuleMailException($"{statePath}: another rulemail run is using this state (lock {path}); stop it first, or give this one its own state", e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await Services.State.DisposeAsync().ConfigureAwait(false);
        await _lock.DisposeAsync().ConfigureAwait(false);
    }
}
