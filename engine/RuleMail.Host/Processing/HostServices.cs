using Microsoft.Extensions.Logging;
using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Keys;
using RuleMail.Rules;

namespace RuleMail.Host.Processing;

/// <summary>What every account's jobs share: the key store, the rules, the state, the clock, logging and HTTP.</summary>
public sealed class HostServices(
    RuleMailConfig config,
    KeyStore store,
    RuleSetSource rules,
    IStateStore state,
    HttpClient http,
    ILoggerFactory logging,
    TimeProvider time,
    Func<string, string?> environment)
{
    public RuleMailConfig Config { get; } = config;

    public KeyStore Store { get; } = store;

    /// <summary>The rule set in force; <see cref="Scheduling.LiveReload"/> replaces it when the rules folder changes.</summary>
    public RuleSetSource RuleSource { get; } = rules;

    /// <summary>The rule set in force now: read it once per message, so one message is judged by one set.</summary>
    public RuleSet Rules => RuleSource.Current;

    public IStateStore State { get; } = state;

    /// <summary>For webhooks; its timeout bounds each call.</summary>
    public HttpClient Http { get; } = http;

    public ILoggerFactory Logging { get; } = logging;

    public TimeProvider Time { get; } = time;

    public Func<string, string?> Environment { get; } = environment;

    public RetryPolicy Retry { get; init; } = RetryPolicy.Default;

    /// <summary>
    /// A test seam, null in production: called with each message's security report inside its analysis, so a test
    /// can make one message fail there the way a bug or an <see cref="OutOfMemoryException"/> would.
    /// </summary>
    internal Action<RuleMail.Crypto.IncomingReport>? AnalysisFault { get; set; }

    /// <summary>Where raw messages are spooled while they are processed.</summary>
    public string SpoolDirectory => Path.Combine(Path.GetDirectoryName(Config.State) ?? ".", "spool");
}
