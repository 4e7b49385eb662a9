using Microsoft.Extensions.Logging;
using RuleMail.Application;
using RuleMail.Host.Actions;
using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Keys;
using RuleMail.Rules;

namespace RuleMail.Host.Processing;

/// <summary>
/// What every account's jobs share, resolved once from the composition root (<see cref="Scheduling.RuleMailHostServices"/>):
/// the two use cases and the key store and rules they judge with, the state, the action handlers, the clock and logging.
/// </summary>
public sealed class HostServices
{
    internal HostServices(
        RuleMailConfig config,
        IncomingAnalysis incoming,
        OutgoingProcessing outgoing,
        RuleSetSource rules,
        IStateStore state,
        IEnumerable<IActionHandler> actions,
        ILoggerFactory logging,
        TimeProvider time,
        Func<string, string?> environment,
        RuleMailMetrics metrics)
    {
        Config = config;
        Incoming = incoming;
        Outgoing = outgoing;
        RuleSource = rules;
        State = state;
        Actions = [.. actions.OrderBy(a => a.Order)];
        Logging = logging;
        Time = time;
        Environment = environment;
        Metrics = metrics;
    }

    public RuleMailConfig Config { get; }

    /// <summary>The incoming use case: every fetched message is judged here.</summary>
    public IncomingAnalysis Incoming { get; }

    /// <summary>The outgoing use case: every outbox message is decided and protected here.</summary>
    public OutgoingProcessing Outgoing { get; }

    public KeyStore Store => Incoming.Store;

    /// <summary>The rule set in force; a reload replaces it between two messages.</summary>
    public RuleSetSource RuleSource { get; }

    /// <summary>The rule set judging the next message.</summary>
    public RuleSet Rules => RuleSource.Current;

    public IStateStore State { get; }

    public ILoggerFactory Logging { get; }

    public TimeProvider Time { get; }

    public Func<string, string?> Environment { get; }

    /// <summary>The host's instruments: one call per run and per plan step.</summary>
    public RuleMailMetrics Metrics { get; }

    internal RetryPolicy Retry { get; init; } = RetryPolicy.Default;

    /// <summary>One handler per side-effect kind, in plan order.</summary>
    internal IReadOnlyList<IActionHandler> Actions { get; }

    /// <summary>
    /// A test seam, null in production: called with each message's verdict inside its analysis, so a test can make
    /// one message fail there the way a bug or an <see cref="OutOfMemoryException"/> would.
    /// </summary>
    internal Action<IncomingVerdict>? AnalysisFault { get; set; }

    /// <summary>
    /// Where raw messages are spooled while they are processed: beside the SQLite state, or for a node of a cluster a
    /// folder of this process's own on the machine's temporary disk (the state is elsewhere, and nodes never share a spool).
    /// </summary>
    public string SpoolDirectory => Node is { } node
        ? Path.Combine(Path.GetTempPath(), $"rulemail-spool-{System.Environment.UserName}", node.SpoolName)
        : Path.Combine(Path.GetDirectoryName(Config.State.Path) ?? ".", "spool");

    /// <summary>The cluster's leases and work queue when this process is a node of one; null for one host on SQLite.</summary>
    public Cluster.PostgresCluster? Coordination { get; init; }

    /// <summary>This process as a node of a cluster (the state is on PostgreSQL); null for one host on SQLite.</summary>
    public Cluster.ClusterNode? Node { get; init; }

    /// <summary>The handler of <paramref name="kind"/>.</summary>
    internal IActionHandler ActionFor(SideEffectKind kind) =>
        Actions.FirstOrDefault(a => a.Kind == kind) ?? throw new InvalidOperationException($"no action handler for {kind} is registered");

    /// <summary>The same services on another state store (benchmarks time the store).</summary>
    internal HostServices WithState(IStateStore state) =>
        new(Config, Incoming, Outgoing, RuleSource, state, Actions, Logging, Time, Environment, Metrics) { Retry = Retry, AnalysisFault = AnalysisFault, Node = Node, Coordination = Coordination };
}
