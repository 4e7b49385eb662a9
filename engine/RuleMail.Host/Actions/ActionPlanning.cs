using RuleMail.Application;
using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Rules;

namespace RuleMail.Host.Actions;

/// <summary>What a handler plans from: the account, the message's ledger entry and the verdict of its analysis.</summary>
internal sealed record ActionPlanning(AccountConfig Account, LedgerEntry Entry, IncomingVerdict Verdict)
{
    /// <summary>The merged decision of the incoming rules.</summary>
    public RuleDecision Decision => Verdict.Decision;

    /// <summary>The analysis this plan belongs to: 1 at fetch, 2 and on when a retry judged the message again.</summary>
    public int AnalysisVersion { get; init; } = 1;

    /// <summary>What earlier analyses left on the message (a retry plans the difference); null on its first analysis.</summary>
    public EarlierOutcome? Earlier { get; init; }

    /// <summary>
    /// The message as received (the spool, seekable), for a handler that passes it on (a webhook's <c>include: mime</c>
    /// of a message whose plaintext is withheld); null when not at hand.
    /// </summary>
    public Stream? Received { get; init; }
}
