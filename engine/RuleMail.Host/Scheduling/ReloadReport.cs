using RuleMail.Keys;

namespace RuleMail.Host.Scheduling;

/// <summary>One reload of <see cref="LiveReload"/>: what became of the rules and of the key store, and the line it logged.</summary>
/// <param name="Reason">What asked for it: <c>SIGHUP</c>, <c>files changed</c>, a test's words.</param>
/// <param name="RulesError">Why the rules were refused (the first problem as <c>file:line:col: message</c>), or null.</param>
/// <param name="KeyChange">What changed in the key store when it was read; null when it was refused.</param>
/// <param name="KeysError">Why the key store was refused, in one line, or null.</param>
/// <param name="Line">The one line logged for it; null when nothing changed on a file event, so nothing was.</param>
internal sealed record ReloadReport(
    string Reason,
    ReloadOutcome Rules,
    string? RulesError,
    ReloadOutcome Keys,
    KeyStoreChange? KeyChange,
    string? KeysError,
    string? Line)
{
    public bool Refused => Rules == ReloadOutcome.Refused || Keys == ReloadOutcome.Refused;
}
