using Microsoft.Extensions.Logging;
using RuleMail.Host.Configuration;
using RuleMail.Host.Processing;
using RuleMail.Host.State;
using RuleMail.Keys;

namespace RuleMail.Host.Scheduling;

/// <summary>Everything a host process runs on, opened once: key store, rules, state, HTTP, and a runner per account.</summary>
public sealed class HostRuntime : IAsyncDisposable
{
    private readonly HttpClient _http;

    private HostRuntime(HostServices services, HttpClient http)
    {
        Services = services;
        _http = http;
        Accounts = [.. services.Config.Accounts.Select(a => new AccountRunner(services, a))];
    }

    public HostServices Services { get; }

    public IReadOnlyList<AccountRunner> Accounts { get; }

    /// <summary>Remembers, per job, whether its server was unreachable, so an outage is reported once and retried with backoff.</summary>
    public JobHealth Health { get; } = new();

    /// <summary>How many key store entries hold a private key; all of them were opened at start.</summary>
    public int PrivateKeys { get; private init; }

    /// <summary>
    /// Opens the key store and every private key in it, loads the rules and opens (creating when needed) the state
    /// database — in that order, and failing closed: whatever is wrong stops the host before the state is touched,
    /// and nothing runs on an empty or partial view (an unreadable store, locked keys, a broken rule file).
    /// </summary>
    /// <exception cref="RuleMailException">
    /// The key store cannot be read or unlocked, the rules do not load, a password variable is missing, or the state
    /// is held by another host or refused (<see cref="SqliteStateStore.OpenExclusiveAsync"/>).
    /// </exception>
    public static async Task<HostRuntime> OpenAsync(
        RuleMailConfig config, KeyStoreOptions keyStoreOptions, ILoggerFactory logging, TimeProvider time,
        Func<string, string?> environment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        var store = KeyStore.Open(config.Keystore, keyStoreOptions);

        // Locked keys are an operational error, never a verdict on a message ("cannot be decrypted", for good).
        var privateKeys = store.UnlockAll();
        var rules = new RuleMail.Rules.RuleSetSource(config.LoadHostRules());

        // Every password variable is checked now, so a missing one shows at start, not on the first run.
        foreach (var account in config.Accounts)
        {
            foreach (var (protocol, server) in new[] { ("imap", account.Fetch?.Imap), ("pop3", account.Fetch?.Pop3), ("smtp", account.Send?.Smtp) })
            {
                if (server is not null)
                {
                    _ = Transport.ServerEndpoint.From(protocol, server, environment);
                }
            }
        }

        IStateStore state;
        try
        {
            state = await SqliteStateStore.OpenExclusiveAsync(config.State, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            throw new RuleMailException($"{config.State}: cannot open the state database: {e.Message}", e);
        }

#pragma warning disable CA2000 // Owned by the runtime and disposed with it.
        // No redirects: a 301/302 would turn the webhook's POST into a GET without its body and still look like success.
        // Each call has its own timeout (the rule's, or WebhookOptions.DefaultTimeout), so the client has none.
        var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, MaxConnectionsPerServer = 64 }) { Timeout = Timeout.InfiniteTimeSpan };
#pragma warning restore CA2000
        var services = new HostServices(config, store, rules, state, http, logging, time, environment);
        SweepSpool(services.SpoolDirectory);
        return new HostRuntime(services, http) { PrivateKeys = privateKeys };
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

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await Services.State.DisposeAsync().ConfigureAwait(false);
    }
}
