using System.CommandLine;
using RuleMail.Host.Configuration;
using RuleMail.Keys;

namespace RuleMail.Cli;

/// <summary>Options every command understands, and the configuration they resolve to.</summary>
internal sealed class CommonOptions
{
    public Option<string?> Config { get; } = new("--config")
    {
        Description = "Configuration file (default: rulemail.yaml in the working directory, when present)",
        Recursive = true,
    };

    public Option<string?> Keystore { get; } = new("--keystore")
    {
        Description = "Key store folder (default: the config's keystore)",
        Recursive = true,
    };

    public Option<string?> Rules { get; } = new("--rules")
    {
        Description = "Rules folder (default: the config's rules)",
        Recursive = true,
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Config);
        command.Options.Add(Keystore);
        command.Options.Add(Rules);
    }

    /// <summary>The configuration with command-line overrides applied.</summary>
    public RuleMailConfig Resolve(ParseResult parse, CliConsole console)
    {
        var config = ConfigLoader.Load(Absolute(parse.GetValue(Config), console), console.WorkingDirectory);
        if (Absolute(parse.GetValue(Keystore), console) is { } keystore)
        {
            config.Keystore = keystore;
        }

        if (Absolute(parse.GetValue(Rules), console) is { } rules)
        {
            config.Rules = rules;
        }

        return config;
    }

    public static KeyStoreOptions KeyStoreOptions(RuleMailConfig config, CliConsole console)
    {
        var passphrase = ConfigLoader.KeystorePassphrase(config, console.GetEnvironmentVariable);
        return new KeyStoreOptions { Time = console.Time, Passphrase = passphrase };
    }


    private static string? Absolute(string? path, CliConsole console) =>
        path is null ? null : Path.GetFullPath(path, console.WorkingDirectory);
}
