using MimeKit;

namespace RuleMail.Crypto;

/// <summary>
/// What decrypting and verifying one incoming message found.
/// </summary>
/// <param name="Security">The security result (the contract).</param>
/// <param name="Message">
/// The message as rules and people may see it: the decrypted message when decryption succeeded with
/// integrity intact, otherwise the message as received. <c>X-RuleMail-*</c> headers from outside are
/// removed in both. Plaintext that failed an integrity check is never here.
/// </param>
public sealed record IncomingReport(SecurityResult Security, MimeMessage Message);
