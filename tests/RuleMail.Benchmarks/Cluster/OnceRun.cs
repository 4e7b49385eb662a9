namespace RuleMail.Benchmarks.Cluster;

/// <summary>
/// One <c>rulemail run --once</c> process on one core: its state backend, wall clock and CPU seconds (its own, not the
/// servers'); <paramref name="Startup"/> for the empty mailbox.
/// </summary>
internal sealed record OnceRun(string State, bool Startup, double Seconds, double Cpu);
