using RuleMail.Composer;
using RuleMail.Rules;

namespace RuleMail.Application;

/// <summary>The composer's buttons for a draft, and the outgoing rules' evaluation that shaped them (which rule required or forbade what).</summary>
public sealed record OutgoingOptions(SecurityOptions Options, RuleEvaluation Rules);
