using RuleMail.Composer;
using RuleMail.Crypto;
using RuleMail.Keys;
using RuleMail.Rules;

namespace RuleMail.Application;

/// <summary>What <see cref="RuleMailCoreServices.AddRuleMailCore"/> builds Core's services from.</summary>
public sealed record RuleMailCoreOptions
{
    /// <summary>The key store folder.</summary>
    public required string Keystore { get; init; }

    /// <summary>The store's clock and passphrase.</summary>
    public KeyStoreOptions KeyStoreOptions { get; init; } = new();

    /// <summary>How far the private keys are proven when the store opens.</summary>
    public KeyReadiness Readiness { get; init; } = KeyReadiness.Verified;

    /// <summary>Loads the rules whole (a folder with any error is refused by throwing <see cref="RuleMailException"/>).</summary>
    public required Func<RuleSet> LoadRules { get; init; }

    /// <summary>The algorithm policy and resource limits incoming mail is judged under.</summary>
    public SecurityPolicy Policy { get; init; } = SecurityPolicy.Default;

    /// <summary>The composer's site settings.</summary>
    public ComposerSettings Composer { get; init; } = new();
}
