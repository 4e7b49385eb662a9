using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RuleMail.Core.Tests.Support;
using RuleMail.Host.Configuration;
using RuleMail.Host.Scheduling;
using RuleMail.Keys;

namespace RuleMail.Host.Tests.Support;

/// <summary>
/// A host environment for one test: the sample key store, the shipped rules plus the test's own, SQLite state and
/// a config in a temp folder, a fake clock, and the environment variables holding the servers' passwords.
/// </summary>
internal sealed class HostHarness : IDisposable
{
    public const string SamplePassphrase = "rulemail-sample-only";

    private const string KeyStoreFolderMarker = "rulemail-keystore.json";

    private HostHarness(TempDirectory folder)
    {
        Folder = folder;
        Directory.CreateDirectory(RulesDirectory);
        foreach (var shipped in Directory.GetFiles(Path.Combine(RepositoryRoot, "rules"), "*.yaml"))
        {
            File.Copy(shipped, Path.Combine(RulesDirectory, Path.GetFileName(shipped)));
        }
    }

    public TempDirectory Folder { get; }

    public string RulesDirectory => Folder.File("rules");

    public string StatePath => Folder.File("state/state.db");

    public string ConfigPath => Folder.File("rulemail.yaml");

    /// <summary>Starts at the real time (the sample certificates are valid now) and moves only when a test says so.</summary>
    public FakeTimeProvider Time { get; } = new(TimeProvider.System.GetUtcNow());

    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    public List<AccountConfig> Accounts { get; } = [];

    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>The key store the config names: the sample's, read-only, unless <see cref="CopyKeyStore"/> gave the test its own.</summary>
    public string KeystoreDirectory { get; private set; } = Path.Combine(RepositoryRoot, "keystore-sample");

    /// <summary>Imports a file of the sample's source/ (e.g. <c>stranger.crt</c>) into the test's key store copy, as <c>rulemail keys import</c> does.</summary>
    public void ImportIntoKeystore(string sourceFile)
    {
        if (KeystoreDirectory.StartsWith(RepositoryRoot, StringComparison.Ordinal))
        {
            throw new InvalidOperationException("CopyKeyStore first: the sample key store in the repository must stay as it is");
        }

        var store = KeyStore.Open(KeystoreDirectory, new KeyStoreOptions { Time = Time, Passphrase = new KeyStorePassphrase(SamplePassphrase) });
        store.Import([ImportFile.Read(Path.Combine(RepositoryRoot, "keystore-sample", "source", sourceFile))]);
    }

    public static HostHarness Create() => new(new TempDirectory("host"));

    /// <summary>Copies the sample key store (its marker and key folders, not its demo mailbox) into the test folder, for a test that changes it.</summary>
    public string CopyKeyStore()
    {
        var sample = Path.Combine(RepositoryRoot, "keystore-sample");
        var copy = Folder.File("keystore");
        Directory.CreateDirectory(copy);
        File.Copy(Path.Combine(sample, KeyStoreFolderMarker), Path.Combine(copy, KeyStoreFolderMarker));
        foreach (var sub in new[] { "smime", "pgp", "crl" })
        {
            Directory.CreateDirectory(Path.Combine(copy, sub));
            foreach (var file in Directory.GetFiles(Path.Combine(sample, sub)))
            {
                File.Copy(file, Path.Combine(copy, sub, Path.GetFileName(file)));
            }
        }

        KeystoreDirectory = copy;
        return copy;
    }

    /// <summary>Adds a rule file (YAML) to the test's rules folder; names sort after the shipped 00- and 50- files unless chosen otherwise.</summary>
    public void AddRule(string fileName, string yaml) => File.WriteAllText(Path.Combine(RulesDirectory, fileName), yaml);

    /// <summary>An empty Maildir (new, cur, tmp) in the test folder, fetched by a "demo" account for support@rulemail.test; its path.</summary>
    public string AddMaildirAccount()
    {
        var maildir = Folder.File("Maildir");
        foreach (var sub in new[] { "new", "cur", "tmp" })
        {
            Directory.CreateDirectory(Path.Combine(maildir, sub));
        }

        Accounts.Add(new AccountConfig { Name = "demo", Address = "support@rulemail.test", Fetch = new FetchConfig { Maildir = maildir } });
        return maildir;
    }

    /// <summary>A rule (first in name order, before the shipped ones stop anything) posting every incoming message to <paramref name="webhook"/><c>hook</c>.</summary>
    public void AddWebhookRule(Uri webhook, string? tag = null) => AddRule("0-webhook.yaml", $"""
        rules:
          - name: tell-the-ticket-system
            on: incoming
            then:
              webhook: {webhook}hook
        {(tag is null ? string.Empty : $"      tag: {tag}")}
        """);

    /// <summary>An account fetching from Dovecot over IMAP (no TLS on loopback); its password goes in the environment.</summary>
    public AccountConfig ImapAccount(DovecotServer dovecot, string user, string password, string name = "support", string address = "support@rulemail.test")
    {
        var variable = $"PW_{name.ToUpperInvariant().Replace('-', '_')}";
        Environment[variable] = password;
        var account = new AccountConfig
        {
            Name = name,
            Address = address,
            Fetch = new FetchConfig
            {
                Every = "1s",
                Imap = new ServerConfig { Host = dovecot.Host, Port = dovecot.ImapPort, Security = "none", User = user, PasswordEnv = variable, Folder = "INBOX" },
            },
        };
        Accounts.Add(account);
        return account;
    }

    /// <summary>The configuration as the host sees it (paths absolute).</summary>
    public RuleMailConfig Config() => new()
    {
        Path = ConfigPath,
        Keystore = KeystoreDirectory,
        KeystorePassphraseFile = Path.Combine(RepositoryRoot, "keystore-sample", "passphrase.txt"),
        Rules = RulesDirectory,
        State = StatePath,
        Accounts = Accounts,
    };

    public Task<HostRuntime> OpenAsync(ILoggerFactory? logging = null) =>
        HostRuntime.OpenAsync(
            Config(),
            new KeyStoreOptions { Time = Time, Passphrase = new KeyStorePassphrase(SamplePassphrase) },
            logging ?? NullLoggerFactory.Instance,
            Time,
            name => Environment.TryGetValue(name, out var value) ? value : null,
            CancellationToken.None);

    /// <summary>
    /// The service as <c>rulemail run</c> builds it: one generic host with the composition root and the Quartz jobs
    /// (on the real clock: Quartz schedules by it).
    /// </summary>
    public IHost BuildScheduledHost()
    {
        var config = Config();
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddRuleMailHost(
            config,
            new KeyStoreOptions { Time = TimeProvider.System, Passphrase = new KeyStorePassphrase(SamplePassphrase) },
            name => Environment.TryGetValue(name, out var value) ? value : null);
        builder.AddRuleMailScheduling(config);
        return builder.Build();
    }

    /// <summary>One fetch of the first account, as one <c>run --once</c> would do it (a fresh runtime each time).</summary>
    public async Task<Host.Processing.FetchReport> FetchOnceAsync()
    {
        await using var runtime = await OpenAsync();
        return await runtime.Accounts[0].FetchAsync(null, CancellationToken.None);
    }

    /// <summary>One retry of the first account, as one <c>rulemail retry</c> would do it (a fresh runtime: today's keys and rules).</summary>
    public async Task<Host.Processing.RetryReport> RetryOnceAsync(Host.Processing.RetrySelection? selection = null)
    {
        await using var runtime = await OpenAsync();
        return await runtime.Accounts[0].RetryAsync(selection ?? new Host.Processing.RetrySelection { SecurityFailed = true }, null, CancellationToken.None);
    }

    /// <summary>The ledger entry of the first account's message <paramref name="sourceKey"/> in <paramref name="folder"/>, read with the state store itself.</summary>
    public async Task<(Host.State.LedgerEntry Entry, IReadOnlyList<Host.State.MessageAnalysis> Analyses, IReadOnlyList<Host.State.SideEffect> Effects)> LedgerAsync(
        string folder, string sourceKey)
    {
        await using var store = await Host.State.SqliteStateStore.OpenAsync(StatePath, CancellationToken.None);
        var entry = (await store.FindMessagesAsync(Accounts[0].Name, folder, [sourceKey], CancellationToken.None))[sourceKey];
        return (entry,
            await store.AnalysesAsync(entry.Account, entry.Folder, entry.SourceKey, CancellationToken.None),
            await store.SideEffectsAsync(entry.Account, entry.Folder, entry.SourceKey, CancellationToken.None));
    }

    /// <summary>One send run of the first account, with a fresh runtime.</summary>
    public async Task<Host.Processing.SendReport> SendOnceAsync()
    {
        await using var runtime = await OpenAsync();
        return await runtime.Accounts[0].SendAsync(null, CancellationToken.None);
    }

    /// <summary>A plain question from alice@customer.test to support, with <paramref name="id"/> in its subject and Message-ID.</summary>
    public static MimeKit.MimeMessage PlainQuestion(string id)
    {
        var message = new MimeKit.MimeMessage();
        message.From.Add(MimeKit.MailboxAddress.Parse("alice@customer.test"));
        message.To.Add(MimeKit.MailboxAddress.Parse("support@rulemail.test"));
        message.Subject = $"Question {id}";
        message.MessageId = $"{id}@customer.test";
        message.Body = new MimeKit.TextPart("plain") { Text = $"Hello ({id})" };
        return message;
    }

    /// <summary>A demo message's raw bytes (keystore-sample/mailbox), e.g. <c>smime-tampered</c>.</summary>
    public static byte[] DemoMessage(string name) =>
        File.ReadAllBytes(Directory.GetFiles(Path.Combine(RepositoryRoot, "keystore-sample", "mailbox"), "*", SearchOption.AllDirectories)
            .Single(f => Path.GetFileName(f).Split(':')[0].EndsWith($".demo-{name}", StringComparison.Ordinal)));

    public void Dispose() => Folder.Dispose();

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "RuleMail.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("RuleMail.sln not found above the test folder");
    }
}
