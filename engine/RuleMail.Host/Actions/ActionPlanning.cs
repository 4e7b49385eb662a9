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
}
