using RuleMail.Host.State;
using RuleMail.Host.Transport;

namespace RuleMail.Host.Actions;

/// <summary>
/// One kind of side effect an incoming decision plans (a keyword, the move, a webhook, a notice): how it is planned
/// from the decision, carried out, and described. A new action is one handler in this folder plus its registration
/// in <see cref="Scheduling.RuleMailHostServices"/>; the pipeline never names a kind.
/// </summary>
/// <remarks>Handlers are singletons and thread-safe: plans of several messages run at once.</remarks>
internal interface IActionHandler
{
    /// <summary>The kind this handler carries out (stored with each planned side effect).</summary>
    SideEffectKind Kind { get; }

    /// <summary>Where its side effects stand in a plan: lower first. Actions on the message itself come before the rest.</summary>
    int Order { get; }

    /// <summary>
    /// True when it acts on the message where the source keeps it (keywords, the move): it runs before the rest of the
    /// plan, in order, and is skipped as gone when the source no longer lists the message.
    /// </summary>
    bool OnMessage { get; }

    /// <summary>True when it leaves the host (a webhook, a notice): everything recorded so far is sealed before it runs.</summary>
    bool LeavesHost { get; }

    /// <summary>What an outcome that is not done records: skipped (the source cannot, the message is gone) or failed (refused for good).</summary>
    SideEffectState NotDone { get; }

    /// <summary>The side effects of this kind that <paramref name="planning"/>'s decision asks for, in order, without duplicates.</summary>
    IEnumerable<PlannedAction> Plan(ActionPlanning planning);

    /// <summary>Carries out one planned side effect. Trouble worth another attempt throws <see cref="TransientActionException"/> or <see cref="MailSourceException"/>.</summary>
    Task<SourceActionResult> RunAsync(ActionContext context, SideEffect effect, CancellationToken cancellationToken);

    /// <summary>The side effect for people and logs (<c>flag security-failed</c>, <c>webhook https://host/…</c>): never a secret.</summary>
    string Describe(SideEffect effect);
}
