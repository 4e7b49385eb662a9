using MimeKit;
using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Application;

/// <summary>
/// What <see cref="IncomingAnalysis"/> made of one received message: its security result, the message as rules and
/// people may see it, its size, and what the incoming rules decided about it (with their trace and errors).
/// </summary>
/// <param name="Security">The security result (the contract in DESIGN.md).</param>
/// <param name="Message">
/// The decrypted message when decryption succeeded with integrity intact, otherwise the message as received;
/// <c>X-RuleMail-*</c> headers from outside are removed in both. It may still read from the raw stream: keep that open
/// while the message is used.
/// </param>
/// <param name="Size">The raw message's length in bytes, as the rules saw it.</param>
/// <param name="Rules">The rules' trace, merged decision and errors.</param>
public sealed record IncomingVerdict(SecurityResult Security, MimeMessage Message, long Size, RuleEvaluation Rules)
{
    /// <summary>The merged decision of the incoming rules.</summary>
    public RuleDecision Decision => Rules.Decision;
}
