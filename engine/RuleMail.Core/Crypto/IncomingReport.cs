using MimeKit;

namespace RuleMail.Crypto;

/// <summary>
/// What decrypting and verifying one incoming message found. Dispose it when done with <see cref="Message"/>: a large
/// message's decrypted content lives in temporary files the report owns, and disposing deletes them.
/// </summary>
/// <param name="Security">The security result (the contract).</param>
/// <param name="Message">
/// The message as rules and people may see it: the decrypted message when decryption succeeded with
/// integrity intact, otherwise the message as received. <c>X-RuleMail-*</c> headers from outside are
/// removed in both. Plaintext that failed an integrity check is never here.
/// </param>
public sealed record IncomingReport(SecurityResult Security, MimeMessage Message) : IDisposable
{
    /// <summary>The temporary files <see cref="Message"/> reads from (none for a small message).</summary>
    internal IReadOnlyList<Spool> Spools { get; init; } = [];

    /// <summary>Deletes the temporary files; <see cref="Message"/> must not be read afterwards.</summary>
    public void Dispose() => Spool.DisposeAll(Spools);
}
