using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using RuleMail.Keys;
using RuleMail.Rules;

namespace RuleMail.Application;

/// <summary>Core's part of the composition root: the key store, the rules in force and the two use cases, each a singleton.</summary>
public static class RuleMailCoreServices
{
    /// <summary>
    /// Registers <see cref="KeyStore"/>, <see cref="RuleSetSource"/>, <see cref="IncomingAnalysis"/>,
    /// <see cref="OutgoingProcessing"/> and the clock. Nothing is opened until first resolved; opening fails closed
    /// (<see cref="KeyStoreException"/>, <see cref="RuleMailException"/>): a front end never runs on a key store or
    /// rules that did not load.
    /// </summary>
    public static IServiceCollection AddRuleMailCore(this IServiceCollection services, RuleMailCoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.TryAddSingleton(options.KeyStoreOptions.Time);
        services.AddSingleton(_ => Open(options));
        services.AddSingleton(_ => new RuleSetSource(options.LoadRules()));
        services.AddSingleton(sp => new IncomingAnalysis(
            sp.GetRequiredService<KeyStore>(), sp.GetRequiredService<RuleSetSource>(), options.Policy, provePassphrase: options.Readiness == KeyReadiness.Verified));
        services.AddSingleton(sp => new OutgoingProcessing(sp.GetRequiredService<KeyStore>(), sp.GetRequiredService<RuleSetSource>(), options.Composer));
        return services;
    }

    private static KeyStore Open(RuleMailCoreOptions options)
    {
        var store = KeyStore.Open(options.Keystore, options.KeyStoreOptions);
        switch (options.Readiness)
        {
            case KeyReadiness.Unlocked:
                _ = store.UnlockAll();
                break;
            case KeyReadiness.Verified:
                // Proven after the first message, by the key it needed when it needed one (IncomingAnalysis).
                store.RequirePassphrase();
                break;
        }

        return store;
    }
}
