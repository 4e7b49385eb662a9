using Microsoft.Extensions.DependencyInjection;
using RuleMail.Application;
using RuleMail.Host.Configuration;
using RuleMail.Keys;

namespace RuleMail.Cli;

/// <summary>The composition root of a one-message command (<c>check</c>, <c>options</c>, <c>compose</c>): Core's services for the configuration.</summary>
internal static class CliServices
{
    /// <summary>Core's services with the key store opened as <paramref name="readiness"/> says.</summary>
    /// <param name="withPassphrase">Read the store passphrase (the environment or the config's file); false for a command that needs public keys only.</param>
    public static ServiceProvider Open(RuleMailConfig config, CliConsole console, KeyReadiness readiness, bool withPassphrase = true)
    {
        var keyStoreOptions = withPassphrase ? CommonOptions.KeyStoreOptions(config, console) : new KeyStoreOptions { Time = console.Time };
        return new ServiceCollection()
            .AddRuleMailCore(config.CoreOptions(keyStoreOptions, readiness))
            .BuildServiceProvider();
    }
}
