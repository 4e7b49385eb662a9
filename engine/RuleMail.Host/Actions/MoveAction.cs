using RuleMail.Host.State;
using RuleMail.Host.Transport;

namespace RuleMail.Host.Actions;

/// <summary>
/// <c>move</c>: moves the message to the folder the rules name, creating it when missing; a <c>hold</c> without a
/// <c>move</c> quarantines it (the folder <see cref="QuarantineFolder"/>). It runs after the keywords: a moved message
/// is no longer where they are set.
/// </summary>
internal sealed class MoveAction : IActionHandler
{
    /// <summary>Where a held message goes when no rule names a folder.</summary>
    public const string QuarantineFolder = "Quarantine";

    public SideEffectKind Kind => SideEffectKind.Move;

    public int Order => 1;

    public bool OnMessage => true;

    public bool LeavesHost => false;

    public SideEffectState NotDone => SideEffectState.Skipped;

    public IEnumerable<PlannedAction> Plan(ActionPlanning planning)
    {
        var decision = planning.Decision;
        return (decision.Move ?? (decision.Hold is not null ? QuarantineFolder : null)) is { } folder ? [new PlannedAction(folder)] : [];
    }

    public Task<SourceActionResult> RunAsync(ActionContext context, SideEffect effect, CancellationToken cancellationToken) =>
        context.Source.MoveAsync(context.Message, effect.Target, cancellationToken);

    public string Describe(SideEffect effect) => $"move {effect.Target}";
}
