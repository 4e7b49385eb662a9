namespace RuleMail.Host.State;

/// <summary>How many outbox entries of one account are in one state (<see cref="IStateStore.CountOutboxAsync"/>).</summary>
public sealed record OutboxCount(string Account, OutboxState State, int Count);
