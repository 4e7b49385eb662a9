using RuleMail.Host.State;
using RuleMail.Host.Transport;

namespace RuleMail.Host.Actions;

/// <summary><c>flag</c>: sets each keyword on the message where it is (an IMAP keyword, or its Maildir equivalent).</summary>
internal sealed class KeywordAction : IActionHandler
{
    public SideEffectKind Kind => SideEffectKind.Keyword;

    public int Order => 0;

    public bool OnMessage => true;

    public bool LeavesHost => false;

    public SideEffectState NotDone => SideEffectState.Skipped;

    /// <summary>Every keyword of the decision; on a retry, those earlier analyses have not set already.</summary>
    public IEnumerable<PlannedAction> Plan(ActionPlanning planning) =>
        planning.Decision.Flag.Distinct(StringComparer.Ordinal)
            .Where(keyword => planning.Earlier?.Keywords.Contains(keyword) != true)
            .Select(keyword => new PlannedAction(keyword));

    public Task<SourceActionResult> RunAsync(ActionContext context, SideEffect effect, CancellationToken cancellationToken) =>
        context.At is { } at
            ? context.Source.AddKeywordAsync(at, effect.Target, cancellationToken)
            : context.Source.AddKeywordAsync(context.Message, effect.Target, cancellationToken);

    public string Describe(SideEffect effect) => $"flag {effect.Target}";
}
