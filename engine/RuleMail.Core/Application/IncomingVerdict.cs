using MimeKit;
using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Application;

/// <summary>
/// What <see cref="IncomingAnalysis"/> made of one received message: its security result, the message as rules and
/// people may see it, its size, and what the incoming rules decided about it (with their trace and errors). Dispose it
/// when done with <see cref="Message"/>: a large message's decrypted content lives in temporary files it owns.
/// </summary>
/// <param name="Security">The security result (the contract in DESIGN.md).</param>
/// <param name="Message">
/// The decrypted message when decryption succeeded with integrity intact, otherwise the message as received;
/// <c>X-RuleMail-*</c> headers from outside are removed in both. It may still read from the raw stream: keep that open
/// while the message is used.
/// </param>
/// <param name="Size">The raw message's length in bytes, as the rules saw it.</param>
/// <param name="Rules">The rules' trace, merged decision and errors.</param>
public sealed record IncomingVerdict(SecurityResult Security, MimeMessage Message, long Size, RuleEvaluation Rules) : IDisposable
{
    /// <summary>The merged decision of the incoming rules.</summary>
    public RuleDecision Decision => Rules.Decision;

    /// <summary>The report whose temporary files <see cref="Message"/> reads from.</summary>
    internal IncomingReport? Report { get; init; }

    /// <summary>Deletes the temporary files; <see cref="Message"/> must not be read afterwards.</summary>
    public void Dispose() => Report?.Dispose();
}
