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

    public string State { get; set; } = ".rulemail/state.db";

    public ComposerConfig Composer { get; set; } = new();

    public JavaScriptConfig Javascript { get; set; } = new();

    public SecurityConfig Security { get; set; } = new();

    public List<AccountConfig> Accounts { get; set; } = [];

    /// <summary>The rules in <see cref="Rules"/>; none when the folder does not exist.</summary>
    public RuleMail.Rules.RuleSet LoadRules() =>
        Directory.Exists(Rules) ? RuleMail.Rules.RuleSet.Load(Rules, Javascript.Limits) : RuleMail.Rules.RuleSet.Empty(Rules);
}
