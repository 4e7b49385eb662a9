using RuleMail.Crypto;
using RuleMail.Keys;
using RuleMail.Yaml;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace RuleMail.Host.Configuration;

/// <summary>Reads <c>rulemail.yaml</c> strictly: unknown keys, wrong types and duplicate keys are errors with file:line:col.</summary>
public static partial class ConfigLoader
{
    /// <summary>The name looked for in the working directory when no <c>--config</c> is given.</summary>
    public const string DefaultFileName = "rulemail.yaml";

    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .WithDuplicateKeyChecking()
        .Build();

    /// <summary>
    /// Loads <paramref name="path"/>; with no path, <c>rulemail.yaml</c> in <paramref name="workingDirectory"/>
    /// when present, else the defaults.
    /// </summary>
    /// <exception cref="RuleMailException">The file is missing (when named) or invalid.</exception>
    public static RuleMailConfig Load(string? path, string workingDirectory)
    {
        if (path is null)
        {
            var candidate = System.IO.Path.Combine(workingDirectory, DefaultFileName);
            if (!File.Exists(candidate))
            {
                return Resolve(new RuleMailConfig(), workingDirectory);
            }

            path = candidate;
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RuleMailException($"{path}: cannot read the configuration: {e.Message}", e);
        }

        RuleMailConfig config;
        try
        {
            config = Deserializer.Deserialize<RuleMailConfig?>(new BoundedYamlParser(new StringReader(text))) ?? new RuleMailConfig();
        }
        catch (YamlException e)
        {
            throw YamlFileException.From(path, e);
        }

        config.Path = System.IO.Path.GetFullPath(path);
        Validate(config);
        Resolve(config, System.IO.Path.GetDirectoryName(config.Path)!);
        ValidatePaths(config);
        return config;
    }

    /// <summary>The store passphrase: the environment variable first, then the config's passphrase file; null when neither is set.</summary>
    public static KeyStorePassphrase? KeystorePassphrase(RuleMailConfig config, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(environment);
        var fromEnvironment = environment(KeyStorePassphrase.EnvironmentVariable);
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return new KeyStorePassphrase(fromEnvironment);
        }

        return config.KeystorePassphraseFile is { } file ? KeyStorePassphrase.FromFile(file) : null;
    }

    private static void Validate(RuleMailConfig config)
    {
        if (config.Composer.Prefer is not ("smime" or "pgp"))
        {
            throw new RuleMailException($"{config.Path}: composer.prefer must be smime or pgp, not '{config.Composer.Prefer}'");
        }

        if (config.Composer.MaxBccRecipients is < 0 or > 10_000)
        {
            throw new RuleMailException($"{config.Path}: composer.max_bcc_recipients must be 0 to 10000, not {config.Composer.MaxBccRecipients}");
        }

        var js = config.Javascript;
        if (js.TimeoutMs is < 1 or > 60_000 || js.MaxStatements is < 1 or > 100_000_000 || js.MaxMemoryMb is < 1 or > 4096 || js.MaxRecursion is < 1 or > 10_000)
        {
            throw new RuleMailException(
                $"{config.Path}: javascript limits out of range (timeout_ms 1-60000, max_statements 1-100000000, max_memory_mb 1-4096, max_recursion 1-10000)");
        }

        var security = config.Security;
        if (security.MinRsaBits is < SecurityPolicy.SmallestMinRsaBits or > 16384)
        {
            throw new RuleMailException($"{config.Path}: security.min_rsa_bits must be between {SecurityPolicy.SmallestMinRsaBits} and 16384, not {security.MinRsaBits}");
        }

        if (security.MaxDecompressedMb is < 1 or > 65536 || security.MaxHeaderKb is < 16 or > 65536 || security.MaxMimeParts is < 10 or > 10_000_000
            || security.MaxSignatures is < 1 or > 1000 || security.MaxKeyAttempts is < 1 or > 1000
            || security.MaxCompressionRatio is < 10 or > 100_000)
        {
            throw new RuleMailException(
                $"{config.Path}: security limits out of range (max_decompressed_mb 1-65536, max_header_kb 16-65536, max_mime_parts 10-10000000, max_signatures 1-1000, max_key_attempts 1-1000, max_compression_ratio 10-100000)");
        }

        if (config.Http is { } http)
        {
            _ = http.Endpoint(out var listenError);
            if (listenError is not null)
            {
                throw new RuleMailException($"{config.Path}: {listenError}");
            }

            if (http.MaxMessageMb is < 1 or > 2048)
            {
                throw new RuleMailException($"{config.Path}: http.max_message_mb must be 1 to 2048, not {http.MaxMessageMb}");
            }

            if (http.Tls is { } tls && (string.IsNullOrWhiteSpace(tls.Certificate) || string.IsNullOrWhiteSpace(tls.Key)))
            {
                throw new RuleMailException($"{config.Path}: http.tls needs both certificate: and key: (PEM files)");
            }
        }

        var cluster = config.Cluster;
        if (cluster.LeaseSeconds is < 2 or > 3600 || cluster.Workers is < 1 or > 64 || cluster.Batch is < 1 or > 1000)
        {
            throw new RuleMailException($"{config.Path}: cluster settings out of range (lease_seconds 2-3600, workers 1-64, batch 1-1000)");
        }

        if (config.Composer.MaxEncryptionRecipients < 1)
        {
            throw new RuleMailException($"{config.Path}: composer.max_encryption_recipients must be at least 1");
        }

        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < config.Accounts.Count; i++)
        {
            var account = config.Accounts[i];
            var where = $"{config.Path}: accounts[{i}]";
            if (string.IsNullOrWhiteSpace(account.Name) || !AccountName().IsMatch(account.Name))
            {
                throw new RuleMailException($"{where}: name must be letters, digits, '.', '_' or '-' (it names the account in logs and state)");
            }

            where = $"{config.Path}: account {account.Name}";
            if (!names.Add(account.Name))
            {
                throw new RuleMailException($"{where}: the name is used twice");
            }

            if (MailAddresses.Normalize(account.Address) is null)
            {
                throw new RuleMailException($"{where}: address '{account.Address}' is not an e-mail address");
            }

            if (account.Fetch is null && account.Send is null)
            {
                throw new RuleMailException($"{where}: needs fetch, send or both");
            }

            if (account.Fetch is { } fetch)
            {
                var sources = (fetch.Imap is null ? 0 : 1) + (fetch.Pop3 is null ? 0 : 1) + (fetch.Maildir is null ? 0 : 1);
                if (sources != 1)
                {
                    throw new RuleMailException($"{where}: fetch needs exactly one of imap, pop3 or maildir");
                }

                CheckSchedule(fetch.Every, fetch.Cron, $"{where}: fetch");
                CheckServer(fetch.Imap, $"{where}: fetch.imap");
                CheckServer(fetch.Pop3, $"{where}: fetch.pop3");
            }

            if (account.Send is { } send)
            {
                if (string.IsNullOrWhiteSpace(send.Outbox))
                {
                    throw new RuleMailException($"{where}: send needs an outbox folder");
                }

                if ((send.Smtp is null) == (send.Pickup is null))
                {
                    throw new RuleMailException($"{where}: send needs exactly one of smtp or pickup");
                }

                if (send.SentFolder is not null && account.Fetch?.Imap is null)
                {
                    throw new RuleMailException($"{where}: send.sent_folder needs fetch.imap (the copy goes to that IMAP server)");
                }

                CheckSchedule(send.Every, send.Cron, $"{where}: send");
                CheckServer(send.Smtp, $"{where}: send.smtp");
            }
        }
    }

    /// <summary>Two jobs on one folder would each take the same messages: outboxes, Maildirs and pickup folders are each one account's.</summary>
    private static void ValidatePaths(RuleMailConfig config)
    {
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        void Claim(string? path, string what)
        {
            if (path is null)
            {
                return;
            }

            var key = System.IO.Path.TrimEndingDirectorySeparator(path);
            if (!owners.TryAdd(key, what))
            {
                throw new RuleMailException($"{config.Path}: {what} and {owners[key]} are the same folder ({path}); each must be its own");
            }
        }

        foreach (var account in config.Accounts)
        {
            Claim(account.Fetch?.Maildir, $"account {account.Name}: fetch.maildir");
            Claim(account.Send?.Outbox, $"account {account.Name}: send.outbox");
            Claim(account.Send?.Pickup, $"account {account.Name}: send.pickup");
            if (account.Send?.SentFolder is { } sent && account.Fetch?.Imap is { } imap
                && string.Equals(sent, imap.Folder ?? "INBOX", StringComparison.OrdinalIgnoreCase))
            {
                throw new RuleMailException($"{config.Path}: account {account.Name}: send.sent_folder is the folder fetch reads; RuleMail would process its own sent mail");
            }
        }
    }

    private static void CheckSchedule(string? every, string? cron, string where)
    {
        if (Schedule.TryParse(every, cron, out var error) is null)
        {
            throw new RuleMailException($"{where}: {error}");
        }
    }

    private static void CheckServer(ServerConfig? server, string where)
    {
        if (server is null)
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(server.Host))
        {
            throw new RuleMailException($"{where}: host is missing");
        }

        if (server.Port is < 1 or > 65535)
        {
            throw new RuleMailException($"{where}: port must be 1-65535, not {server.Port}");
        }

        if (server.Security is not ("none" or "starttls" or "tls"))
        {
            throw new RuleMailException($"{where}: security must be none, starttls or tls, not '{server.Security}'");
        }

        if (server.Folder is not null && !where.EndsWith("imap", StringComparison.Ordinal))
        {
            throw new RuleMailException($"{where}: folder applies to imap only");
        }

        if (server.PasswordEnv is not null && server.Security == "none" && !IsLoopback(server.Host))
        {
            throw new RuleMailException($"{where}: security none would send the password in clear to {server.Host}; use starttls or tls (none is for loopback only)");
        }

        if (server.User is not null && server.PasswordEnv is null)
        {
            throw new RuleMailException($"{where}: a user needs password_env, the environment variable holding the password (passwords never go in this file)");
        }
    }

    private static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || (System.Net.IPAddress.TryParse(host, out var address) && System.Net.IPAddress.IsLoopback(address));

    private static RuleMailConfig Resolve(RuleMailConfig config, string baseDirectory)
    {
        config.Keystore = System.IO.Path.GetFullPath(config.Keystore, baseDirectory);
        config.Rules = System.IO.Path.GetFullPath(config.Rules, baseDirectory);
        if (config.State.Path is { } statePath)
        {
            config.State.Path = System.IO.Path.GetFullPath(statePath, baseDirectory);
        }
        if (config.KeystorePassphraseFile is not null)
        {
            config.KeystorePassphraseFile = System.IO.Path.GetFullPath(config.KeystorePassphraseFile, baseDirectory);
        }

        if (config.Http?.Tls is { } tls)
        {
            tls.Certificate = System.IO.Path.GetFullPath(tls.Certificate, baseDirectory);
            tls.Key = System.IO.Path.GetFullPath(tls.Key, baseDirectory);
        }

        foreach (var account in config.Accounts)
        {
            if (account.Fetch?.Maildir is { } maildir)
            {
                account.Fetch.Maildir = System.IO.Path.GetFullPath(maildir, baseDirectory);
            }

            if (account.Send is { } send)
            {
                send.Outbox = send.Outbox is null ? null : System.IO.Path.GetFullPath(send.Outbox, baseDirectory);
                send.Pickup = send.Pickup is null ? null : System.IO.Path.GetFullPath(send.Pickup, baseDirectory);
            }
        }

        return config;
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial System.Text.RegularExpressions.Regex AccountName();
}
