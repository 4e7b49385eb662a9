using RuleMail.Keys;
using RuleMail.Yaml;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace RuleMail.Host.Configuration;

/// <summary>Reads <c>rulemail.yaml</c> strictly: unknown keys, wrong types and duplicate keys are errors with file:line:col.</summary>
public static class ConfigLoader
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
            config = Deserializer.Deserialize<RuleMailConfig?>(text) ?? new RuleMailConfig();
        }
        catch (YamlException e)
        {
            throw YamlFileException.From(path, e);
        }

        config.Path = System.IO.Path.GetFullPath(path);
        Validate(config);
        return Resolve(config, System.IO.Path.GetDirectoryName(config.Path)!);
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

        var js = config.Javascript;
        if (js.TimeoutMs is < 1 or > 60_000 || js.MaxStatements is < 1 or > 100_000_000 || js.MaxMemoryMb is < 1 or > 4096 || js.MaxRecursion is < 1 or > 10_000)
        {
            throw new RuleMailException(
                $"{config.Path}: javascript limits out of range (timeout_ms 1-60000, max_statements 1-100000000, max_memory_mb 1-4096, max_recursion 1-10000)");
        }

        if (config.Composer.MaxEncryptionRecipients < 1)
        {
            throw new RuleMailException($"{config.Path}: composer.max_encryption_recipients must be at least 1");
        }
    }

    private static RuleMailConfig Resolve(RuleMailConfig config, string baseDirectory)
    {
        config.Keystore = System.IO.Path.GetFullPath(config.Keystore, baseDirectory);
        config.Rules = System.IO.Path.GetFullPath(config.Rules, baseDirectory);
        config.State = System.IO.Path.GetFullPath(config.State, baseDirectory);
        if (config.KeystorePassphraseFile is not null)
        {
            config.KeystorePassphraseFile = System.IO.Path.GetFullPath(config.KeystorePassphraseFile, baseDirectory);
        }

        return config;
    }
}
