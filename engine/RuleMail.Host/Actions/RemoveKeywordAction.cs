using RuleMail.Host.State;
using RuleMail.Host.Transport;

namespace RuleMail.Host.Actions;

/// <summary>
/// A retry's <c>unflag</c>: removes each keyword an earlier analysis set that the new decision no longer asks for (a
/// message that now verifies loses its <c>security-failed</c>). It plans nothing on a first analysis, and runs with
/// the keywords, before the move.
/// </summary>
internal sealed class RemoveKeywordAction : IActionHandler
{
    public SideEffectKind Kind => SideEffectKind.RemoveKeyword;

    /// <summary>Beside the keywords (registered after them; the sort keeps registration order), before the move.</summary>
    public int Order => 0;

    public bool OnMessage => true;

    public bool LeavesHost => false;

    public SideEffectState NotDone => SideEffectState.Skipped;

    public IEnumerable<PlannedAction> Plan(ActionPlanning planning) =>
        planning.Earlier is not { } earlier
            ? []
            : earlier.Keywords
                .Where(keyword => !planning.Decision.Flag.Contains(keyword, StringComparer.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal)
                .Select(keyword => new PlannedAction(keyword));

    public Task<SourceActionResult> RunAsync(ActionContext context, SideEffect effect, CancellationToken cancellationToken) =>
        context.At is { } at
            ? context.Source.RemoveKeywordAsync(at, effect.Target, cancellationToken)
            : Task.FromResult(SourceActionResult.Unsupported("where the message is was not recorded"));

    public string Describe(SideEffect effect) => $"unflag {effect.Target}";
}
