using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RuleMail.Host.Configuration;
using RuleMail.Host.Scheduling;
using RuleMail.Keys;

namespace RuleMail.Web;

/// <summary>
/// One process's generic host with the HTTP API: the host's services, optionally the Quartz jobs beside it
/// (<c>rulemail run</c> with <c>http:</c>), and Kestrel (<c>rulemail serve</c>: the API alone).
/// </summary>
public static class RuleMailWebHost
{
    /// <summary>
    /// Builds the application and opens the runtime (key store, keys, rules, state) before anything listens, so it
    /// fails closed at start as <c>run</c> does.
    /// </summary>
    /// <exception cref="RuleMailException">Something does not open (see <see cref="HostRuntime.Open"/>).</exception>
    public static WebApplication Build(RuleMailWebHostSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var config = settings.Config;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = "rulemail",
            EnvironmentName = Environments.Production,
            ContentRootPath = config.Path is { } path ? Path.GetDirectoryName(path) : Directory.GetCurrentDirectory(),
        });
        builder.Logging.ClearProviders();
        settings.Logging?.Invoke(builder.Logging);
        builder.Services.AddRuleMailHost(config, settings.KeyStoreOptions, settings.Environment);
        if (settings.Schedule)
        {
            builder.AddRuleMailScheduling(config, settings.Environment);
        }

        builder.AddRuleMailWeb(config, settings.Listen);
        var app = builder.Build();
        _ = app.Services.GetRequiredService<HostRuntime>();
        app.MapRuleMailApi();
        return app;
    }
}

/// <summary>What <see cref="RuleMailWebHost.Build"/> builds the process from.</summary>
public sealed record RuleMailWebHostSettings
{
    public required RuleMailConfig Config { get; init; }

    public required KeyStoreOptions KeyStoreOptions { get; init; }

    /// <summary>Reads environment variables (account passwords, webhook secrets); tests pass their own.</summary>
    public required Func<string, string?> Environment { get; init; }

    /// <summary>Run the accounts' Quartz jobs beside the API (<c>rulemail run</c>); false for <c>rulemail serve</c>.</summary>
    public bool Schedule { get; init; }

    /// <summary>The log providers; none when null.</summary>
    public Action<ILoggingBuilder>? Logging { get; init; }

    /// <summary>Listen here instead of <c>http.listen</c> (tests: port 0 on loopback).</summary>
    public IPEndPoint? Listen { get; init; }
}
