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

    /// <summary>
    /// The folder the decision names. On a retry only when the message is not there already; and when the decision
    /// names none, a message an earlier analysis moved away goes back to the folder it was fetched from once its security
    /// no longer fails (a message that now verifies leaves Quarantine). One that still fails stays where it is.
    /// </summary>
    public IEnumerable<PlannedAction> Plan(ActionPlanning planning)
    {
        var decision = planning.Decision;
        var folder = decision.Move ?? (decision.Hold is not null ? QuarantineFolder : null);
        if (planning.Earlier is not { } earlier)
        {
            return folder is null ? [] : [new PlannedAction(folder)];
        }

        if (folder is not null)
        {
            return MessageLocation.SameFolder(folder, earlier.Folder) ? [] : [new PlannedAction(folder)];
        }

        var home = planning.Entry.Folder;
        return !MessageLocation.SameFolder(home, earlier.Folder) && !Processing.SecurityStatus.Failed(planning.Verdict.Security)
            ? [new PlannedAction(home)]
            : [];
    }

    public Task<SourceActionResult> RunAsync(ActionContext context, SideEffect effect, CancellationToken cancellationToken) =>
        context.At is { } at
            ? context.Source.MoveAsync(at, effect.Target, cancellationToken)
            : context.Source.MoveAsync(context.Message, effect.Target, cancellationToken);

    public string Describe(SideEffect effect) => $"move {effect.Target}";
}
