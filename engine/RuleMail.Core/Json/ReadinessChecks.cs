namespace RuleMail.Json;

/// <summary>The checks of a <see cref="ReadinessDocument"/>; <see cref="Accounts"/> is keyed by account name, in the configuration's order.</summary>
public sealed record ReadinessChecks(
    ReadinessCheck Keystore,
    ReadinessCheck State,
    ReadinessCheck Rules,
    IReadOnlyDictionary<string, AccountReadiness> Accounts);
