namespace RuleMail.Host.Configuration;

/// <summary>
/// <c>rulemail.yaml</c>: where the key store, rules and state live, and the accounts the host serves.
/// Relative paths are relative to the file's folder. Secrets never appear here, only the names of
/// environment variables or files that hold them.
/// </summary>
public sealed class RuleMailConfig
{
    /// <summary>The file it was read from; null for the built-in defaults.</summary>
    [YamlDotNet.Serialization.YamlIgnore]
    public string? Path { get; set; }

    public string Keystore { get; set; } = "keystore";

    /// <summary>A file whose first line is the key store passphrase (the environment variable wins).</summary>
    public string? KeystorePassphraseFile { get; set; }

    public string Rules { get; set; } = "rules";

    /// <summary>The SQLite file of one host (the default), or the PostgreSQL database of a cluster (<see cref="StateConfig"/>).</summary>
    public StateConfig State { get; set; } = StateConfig.FromPath(StateConfig.DefaultPath);

    /// <summary>How the nodes share the work when <see cref="State"/> is on PostgreSQL.</summary>
    public ClusterConfig Cluster { get; set; } = new();

    public ComposerConfig Composer { get; set; } = new();

    public JavaScriptConfig Javascript { get; set; } = new();

    public SecurityConfig Security { get; set; } = new();

    public List<AccountConfig> Accounts { get; set; } = [];

    /// <summary>The HTTP API and web UI; null when <c>http:</c> is absent (then <c>run</c> serves none).</summary>
    public HttpConfig? Http { get; set; }

    /// <summary>
    /// The address of the account a front end speaks for, as rules see it (<c>account</c>): the account named or addressed
    /// by <paramref name="given"/>; else the account whose address is <paramref name="from"/>; else <paramref name="given"/>
    /// or <paramref name="from"/> itself (no account configured: the sender's address stands for it, as a host account's
    /// address stands for the mail it sends).
    /// </summary>
    public string? AccountAddress(string? given, string? from)
    {
        var byName = given is null ? null : Accounts.FirstOrDefault(a => a.Name == given);
        var address = RuleMail.Keys.MailAddresses.Normalize(given) ?? RuleMail.Keys.MailAddresses.Normalize(from);
        var byAddress = address is null ? null : Accounts.FirstOrDefault(a => RuleMail.Keys.MailAddresses.Normalize(a.Address) == address);
        return (byName ?? byAddress)?.Address ?? address;
    }

    /// <summary>Core's services as this configuration sets them up, with the store opened as <paramref name="readiness"/> says.</summary>
    public RuleMail.Application.RuleMailCoreOptions CoreOptions(RuleMail.Keys.KeyStoreOptions keyStoreOptions, RuleMail.Application.KeyReadiness readiness) => new()
    {
        Keystore = Keystore,
        KeyStoreOptions = keyStoreOptions,
        Readiness = readiness,
        LoadRules = LoadRules,
        Policy = Security.Policy,
        Composer = Composer.Settings,
    };

    /// <summary>
    /// The rules in <see cref="Rules"/>, whole or not at all; none when the folder does not exist. A folder with
    /// a load error in any file is refused: running without the broken file would silently switch its policy
    /// off (the shipped quarantine rule, say), so <c>run</c> and <c>check</c> stop instead.
    /// </summary>
    /// <exception cref="RuleMailException">A file does not load (the first problem, as <c>file:line:col: message</c>), or the folder cannot be read.</exception>
    public RuleMail.Rules.RuleSet LoadRules()
    {
        // A missing or empty folder is no policy, and no policy must never look like one that lets everything through.
        const string Advice = "the shipped default policy is in the rules folder of RuleMail's repository; copy it there, or set rules: in rulemail.yaml";
        if (!Exists(Rules))
        {
            throw new RuleMailException($"{Rules}: the rules folder does not exist: {Advice}");
        }

        var rules = RuleMail.Rules.RuleSet.Load(Rules, Javascript.Limits);
        if (rules.Errors.Count > 0)
        {
            var more = rules.Errors.Count == 1 ? string.Empty : $" (and {rules.Errors.Count - 1} more)";
            throw new RuleMailException(
                $"{rules.Errors[0].ToString().TrimEnd('.')}{more}: the rules folder {Rules} is refused whole; fix it (rulemail rules lint lists every problem)");
        }

        if (rules.RuleCount == 0)
        {
            throw new RuleMailException($"{Rules}: the rules folder holds no rules: {Advice}");
        }

        return rules;
    }

    /// <summary>
    /// <see cref="LoadRules"/> for a host, at start and on every reload: also refuses rules that judge no incoming mail
    /// while an account fetches, since fetched mail whose security failed would then never be quarantined.
    /// </summary>
    /// <exception cref="RuleMailException">The rules do not load, or cover no incoming mail while an account fetches.</exception>
    public RuleMail.Rules.RuleSet LoadHostRules()
    {
        var rules = LoadRules();
        if (Accounts.Any(a => a.Fetch is not null) && !rules.Covers(RuleMail.Rules.RuleDirection.Incoming))
        {
            // Fetched mail judged by no rule would never be quarantined: a policy switched off without a word.
            throw new RuleMailException(
                $"{Rules}: the rules folder holds no incoming rule, so fetched mail whose security failed would never be quarantined; add one (the shipped rules/00-quarantine-failed-security.yaml)");
        }

        return rules;
    }

    /// <summary>Like <see cref="Directory.Exists"/>, but a folder that cannot be looked at is an error, not "no rules".</summary>
    private static bool Exists(string folder)
    {
        try
        {
            return (File.GetAttributes(folder) & FileAttributes.Directory) != 0
                ? true
                : throw new RuleMailException($"{folder}: the rules folder is a file");
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RuleMailException($"{folder}: cannot read the rules folder ({e.Message.TrimEnd('.')}); give the user running rulemail read access", e);
        }
    }
}
