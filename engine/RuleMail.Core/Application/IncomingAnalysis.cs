using RuleMail.Crypto;
using RuleMail.Keys;
using RuleMail.Rules;

namespace RuleMail.Application;

/// <summary>
/// The incoming use case, the one path every front end takes (<c>rulemail check</c>, the fetch pipeline, the HTTP
/// API): a received message and the account that received it → its security result (decrypted and verified against
/// the key store), the view the rules see, the incoming rules' evaluation and their merged decision.
/// The same message and account give the same verdict whichever front end asked.
/// </summary>
/// <remarks>
/// Thread-safe and meant to be a singleton: it holds the caches that make repeated verification cheap (signature
/// chains per store version). Each message is judged with the key store's and the rules' state of that moment — a
/// reload between two messages applies to the second whole, never to half of one.
/// </remarks>
public sealed class IncomingAnalysis
{
    private readonly IncomingSecurity _security;
    private readonly RuleSetSource _rules;
    private readonly bool _provePassphrase;

    /// <param name="provePassphrase">
    /// After each message, prove the store passphrase with one private key unless the message already opened one
    /// (<see cref="KeyStore.VerifyPassphrase"/>): for a one-message command, whose store is not unlocked at start.
    /// </param>
    public IncomingAnalysis(KeyStore store, RuleSetSource rules, SecurityPolicy? policy = null, bool provePassphrase = false)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(rules);
        _security = new IncomingSecurity(store, policy);
        _rules = rules;
        _provePassphrase = provePassphrase;
        Store = store;
    }

    /// <summary>The key store messages are judged against.</summary>
    public KeyStore Store { get; }

    /// <summary>The algorithm policy and resource limits every message is judged under.</summary>
    public SecurityPolicy Policy => _security.Policy;

    /// <summary>The rule set that judges the next message.</summary>
    public RuleSet Rules => _rules.Current;

    /// <summary>Judges one message as received. Dispose the verdict when done with its message (it may own temporary files).</summary>
    /// <param name="raw">
    /// The message from its current position to its end, seekable; it is read in place (the verdict's message may keep
    /// referring to it), so keep it open while the verdict is used.
    /// </param>
    /// <param name="accountAddress">The receiving account's address: its private keys are tried first, and the rules see it as <c>account</c>.</param>
    /// <exception cref="KeyStoreException">A private key the message needed could not be opened: an operational error, never a verdict.</exception>
    public IncomingVerdict Analyse(Stream raw, string? accountAddress) => Analyse(raw, accountAddress, _rules.Current);

    /// <summary>
    /// Judges one message as received with <paramref name="rules"/> instead of the rule set in force: a dry run of rules
    /// not (yet) in force (<c>POST /api/v1/rules/test</c>), on the same security result and message view as the real thing.
    /// </summary>
    /// <inheritdoc cref="Analyse(Stream, string?)" path="/param" />
    /// <param name="rules">The rules to evaluate; they see the message exactly as the rules in force would.</param>
    /// <exception cref="KeyStoreException">A private key the message needed could not be opened: an operational error, never a verdict.</exception>
    public IncomingVerdict Analyse(Stream raw, string? accountAddress, RuleSet rules)
    {
        ArgumentNullException.ThrowIfNull(raw);
        ArgumentNullException.ThrowIfNull(rules);
        if (!raw.CanSeek)
        {
            throw new ArgumentException("the message must be seekable (spool it first)", nameof(raw));
        }

        var size = raw.Length - raw.Position;
        var report = _security.Inspect(raw, accountAddress);
        try
        {
            if (_provePassphrase)
            {
                // A wrong passphrase would make "cannot be decrypted" of mail that can be: it is an error, never a verdict.
                Store.VerifyPassphrase();
            }

            var evaluation = rules.Evaluate(RuleMessage.From(report.Message, report.Security, RuleMessage.Incoming, accountAddress, size), RuleDirection.Incoming);
            return new IncomingVerdict(report.Security, report.Message, size, evaluation) { Report = report };
        }
        catch
        {
            report.Dispose();
            throw;
        }
    }
}
