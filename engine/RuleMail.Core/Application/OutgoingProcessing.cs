using System.Security.Cryptography;
using MimeKit;
using MimeKit.IO;
using RuleMail.Composer;
using RuleMail.Crypto;
using RuleMail.Keys;
using RuleMail.Rules;

namespace RuleMail.Application;

/// <summary>
/// The outgoing use case, the one path every front end takes (<c>rulemail options</c> and <c>compose</c>, the outbox
/// sender, the HTTP API): a message, the account it goes out from and the composer's choice → held with its reason,
/// or the protected copies ready for a transport. The outgoing rules see the same account, size and recipients
/// whichever front end asked.
/// </summary>
/// <remarks>
/// <para>
/// In order: the <c>X-RuleMail-*</c> headers are removed (never sent, never seen by rules); the outgoing rules judge
/// the message; the composer's options for its sender and To + Cc recipients are made with the settings the rules
/// refine; <see cref="OutgoingPlanner"/> decides (hold, or sign/encrypt with one type); the rules' <c>header</c>s
/// are added; then the message is protected, one copy for To + Cc and one per Bcc recipient.
/// </para>
/// <para>
/// Bcc: the To/Cc copy carries no Bcc header and is encrypted to the To/Cc keys (and the sender's) only, so it never
/// reveals a Bcc recipient; each Bcc recipient gets a copy of their own, encrypted to them (and the sender), with a
/// Bcc header naming only them, so none goes to someone who cannot read it. When encryption was asked for or a rule
/// requires it and a Bcc recipient's copy cannot be encrypted, the whole message is held; when it is only the default
/// (<c>preferred</c>), that copy goes out unencrypted and the notes and the description say so.
/// </para>
/// <para>Thread-safe and meant to be a singleton. The caller's message is changed (headers removed and added): pass one it owns.</para>
/// </remarks>
public sealed class OutgoingProcessing
{
    private readonly RuleSetSource _rules;
    private readonly ComposerSettings _settings;
    private readonly OutgoingSecurity _security;

    public OutgoingProcessing(KeyStore store, RuleSetSource rules, ComposerSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(rules);
        Store = store;
        _rules = rules;
        _settings = settings ?? new ComposerSettings();
        _security = new OutgoingSecurity(store);
    }

    /// <summary>The key store messages are protected with.</summary>
    public KeyStore Store { get; }

    /// <summary>The rule set that judges the next message.</summary>
    public RuleSet Rules => _rules.Current;

    /// <summary>The composer's buttons for a draft: what the outgoing rules decide for it, and what the keys allow.</summary>
    /// <exception cref="FormatException">An address of the draft is not an e-mail address (the message names it).</exception>
    public OutgoingOptions Options(OutgoingDraft draft)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var message = draft.Addressed();
        var evaluation = Evaluate(message, draft.Account, size: 0);
        var (from, toCc, bcc) = Addresses(message);
        var options = Composer(evaluation.Decision).For(from, toCc, bcc, draft.Type);
        return new OutgoingOptions(options with { DecidedBy = DecidedBy(evaluation) }, evaluation);
    }

    /// <summary>The first matching rule that gave each protection its merged value (the strongest wins), or null when none spoke.</summary>
    private static RuleProtection? DecidedBy(RuleEvaluation evaluation)
    {
        RuleChoice? Choice(Func<RuleDecision, Preference?> read) =>
            read(evaluation.Decision) is { } merged
            && evaluation.Trace.FirstOrDefault(r => r is { Matched: true, Decision: { } d } && read(d) == merged) is { } rule
                ? new RuleChoice(merged.ToString().ToLowerInvariant(), rule.Name, rule.File)
                : null;

        var sign = Choice(d => d.Sign);
        var encrypt = Choice(d => d.Encrypt);
        return sign is null && encrypt is null ? null : new RuleProtection(sign, encrypt);
    }

    /// <summary>
    /// A message submitted with the composer's choice in its headers (<c>X-RuleMail-Sign: yes|no</c>,
    /// <c>X-RuleMail-Encrypt: yes|no</c>, <c>X-RuleMail-Type: smime|pgp</c>): the outbox and the HTTP API. A choice
    /// header that is not understood holds the message (a misspelt <c>X-RuleMail-Encrypt</c> must never send plaintext).
    /// </summary>
    public OutgoingOutcome ProcessSubmitted(MimeMessage message, string? account)
    {
        ArgumentNullException.ThrowIfNull(message);
        return OutgoingChoice.TryFromHeaders(message, out var choice, out var invalid)
            ? Process(message, account, choice)
            : OutgoingOutcome.Held(invalid, NotEvaluated);
    }

    /// <summary>
    /// The outgoing rules' dry run on a message as <see cref="Process"/> would judge it (its <c>X-RuleMail-*</c> and
    /// envelope headers removed first, its size as written), without deciding or protecting anything:
    /// <c>POST /api/v1/rules/test?direction=outgoing</c>.
    /// </summary>
    /// <param name="message">The message; changed in place as <see cref="Process"/> changes it.</param>
    /// <param name="account">The address of the account it goes out from (what rules see as <c>account</c>); null when none.</param>
    /// <param name="rules">The rules to evaluate; the rule set in force when null.</param>
    public RuleEvaluation DryRun(MimeMessage message, string? account, RuleSet? rules = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        OwnHeaders.Remove(message);
        RemoveEnvelopeHeaders(message);
        var (size, _) = Measure(message);
        return (rules ?? _rules.Current).Evaluate(RuleMessage.From(message, null, RuleMessage.Outgoing, account, size), RuleDirection.Outgoing);
    }

    /// <summary>Decides and protects one outgoing message.</summary>
    /// <param name="message">The message; changed in place (see the remarks).</param>
    /// <param name="account">The address of the account it goes out from (what rules see as <c>account</c>); null when none.</param>
    /// <param name="choice">What the person chose; <see cref="OutgoingChoice.None"/> when nothing.</param>
    public OutgoingOutcome Process(MimeMessage message, string? account, OutgoingChoice choice)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(choice);
        OwnHeaders.Remove(message);
        RemoveEnvelopeHeaders(message);
        if (Unreadable(message) is { } unreadable)
        {
            return OutgoingOutcome.Held(unreadable, NotEvaluated);
        }

        var (from, toCc, bcc) = Addresses(message);
        if (from is null || toCc.Count + bcc.Count == 0)
        {
            return OutgoingOutcome.Held("the message needs one From address and at least one recipient", NotEvaluated);
        }

        if (bcc.Count > _settings.MaxBccRecipients)
        {
            // Each Bcc recipient costs a whole protected copy: a bound on what one message may cost.
            return OutgoingOutcome.Held(
                $"the message has {bcc.Count} Bcc recipients; each gets a copy of its own, and at most {_settings.MaxBccRecipients} are allowed (composer.max_bcc_recipients)",
                NotEvaluated);
        }

        var (size, hash) = Measure(message);
        var evaluation = Evaluate(message, account, size);
        var decision = evaluation.Decision;

        // A message for Bcc recipients only is planned as its first Bcc copy; every other copy is checked on its own below.
        var options = Composer(decision).For(from, toCc.Count > 0 ? toCc : [bcc[0]], bcc);
        var plan = OutgoingPlanner.Plan(options, decision, choice);
        if (plan.IsHeld)
        {
            return OutgoingOutcome.Held(plan.Hold, evaluation, options);
        }

        // A stable Message-ID (from the content) makes a repeat after a crash recognisable as the same message.
        if (string.IsNullOrEmpty(message.MessageId))
        {
            message.MessageId = $"{hash[..32]}@{MailAddresses.Domain(from)}";
        }

        if (message.Date == DateTimeOffset.MinValue)
        {
            message.Date = Store.Time.GetUtcNow();
        }

        // The rules' headers are the message's: one that is already there takes the rules' value.
        foreach (var (name, value) in decision.Header)
        {
            while (message.Headers.Contains(name))
            {
                message.Headers.Remove(name);
            }

            message.Headers.Add(name, value);
        }

        // Encryption the person asked for, or a rule requires, is never dropped for a Bcc copy: the message is held.
        // Otherwise each Bcc copy is encrypted when encryption is wanted (by default, or the rules' preferred) and
        // possible for its one recipient — even when the To/Cc copy cannot be (too many recipients) — and a copy it is
        // not possible for goes out as the rest of the plan says, and the notes say so.
        var encryptRequired = choice.Encrypt ?? decision.Encrypt == Preference.Required;
        var encryptWanted = plan.Encrypt || (choice.Encrypt ?? (decision.Encrypt is { } preference ? preference != Preference.Never : _settings.EncryptByDefault));
        var unencryptable = encryptWanted ? Unencryptable(decision, bcc, plan.Type) : [];
        if (encryptRequired && unencryptable.Count > 0)
        {
            var (address, reason) = unencryptable.First();
            return OutgoingOutcome.Held($"cannot encrypt the copy for the Bcc recipient {address} with {plan.Type}: {reason}", evaluation, options);
        }

        var request = plan.Request(_settings.EncryptToSender);
        var bccMailboxes = message.Bcc.Mailboxes.ToList();
        var copies = new List<OutgoingCopy>();
        var notes = new List<string>();
        message.Headers.RemoveAll(HeaderId.Bcc); // Every raw Bcc field, not only what parsed into the list.
        if (toCc.Count > 0)
        {
            var main = Protect(message, request);
            if (main.IsRefused)
            {
                return OutgoingOutcome.Held(main.Refusal, evaluation, options);
            }

            copies.Add(new OutgoingCopy(main.Message, toCc));
            notes.AddRange(main.Notes);
        }

        foreach (var address in bcc)
        {
            // Only this recipient's Bcc header, and (when encrypted) only their key and the sender's.
            message.Headers.RemoveAll(HeaderId.Bcc);
            message.Bcc.Add(bccMailboxes.First(m => MailAddresses.Normalize(m.Address) == address));
            var plain = !encryptWanted || unencryptable.ContainsKey(address);
            var copy = Protect(message, plain ? request with { Encrypt = false } : request with { Encrypt = true, EncryptTo = [address] });
            if (copy.IsRefused)
            {
                return OutgoingOutcome.Held($"the copy for the Bcc recipient {address} cannot be protected: {copy.Refusal}", evaluation, options);
            }

            copies.Add(new OutgoingCopy(copy.Message, [address], address));
            if (encryptWanted && unencryptable.TryGetValue(address, out var why))
            {
                notes.Add($"Bcc {address}: not encrypted: {why}");
            }

            notes.AddRange(copy.Notes.Select(n => $"Bcc {address}: {n}"));
        }

        message.Headers.RemoveAll(HeaderId.Bcc);
        message.Bcc.AddRange(bccMailboxes);
        var description = bcc.Count == 0 ? plan.Description : $"{plan.Description}; {bcc.Count} Bcc {(bcc.Count == 1 ? "copy" : "copies")} of its own";
        if (!plan.Encrypt && encryptWanted && bcc.Count > unencryptable.Count)
        {
            description += ", encrypted to their recipient";
        }

        if (unencryptable.Count > 0)
        {
            description += $"; not encrypted for {string.Join(", ", unencryptable.Keys)} ({string.Join(" ", unencryptable.Values)})";
        }

        return OutgoingOutcome.Send(copies, description, notes, evaluation, options);
    }

    /// <summary>
    /// Removes what only a transport may write: <c>Resent-Bcc</c> (never sent, and its recipients are not this message's
    /// envelope) and the pickup envelope lines <c>X-Sender</c>/<c>X-Receiver</c>, which a collector would take as recipients.
    /// </summary>
    private static void RemoveEnvelopeHeaders(MimeMessage message)
    {
        message.Headers.RemoveAll(HeaderId.ResentBcc);
        for (var i = message.Headers.Count - 1; i >= 0; i--)
        {
            if (message.Headers[i].Field.Equals("X-Sender", StringComparison.OrdinalIgnoreCase)
                || message.Headers[i].Field.Equals("X-Receiver", StringComparison.OrdinalIgnoreCase))
            {
                message.Headers.RemoveAt(i);
            }
        }
    }

    /// <summary>
    /// Why a recipient field cannot be trusted to say who the message goes to: a Bcc field that does not parse strictly
    /// (the lenient parser drops what it cannot read, and the raw field would travel with the To/Cc copy), or a
    /// recipient that is no e-mail address (it would be dropped from the envelope without a word). Null when all is well.
    /// </summary>
    private static string? Unreadable(MimeMessage message)
    {
        var strict = new ParserOptions { AddressParserComplianceMode = RfcComplianceMode.Strict };
        foreach (var header in message.Headers.Where(h => h.Id == HeaderId.Bcc))
        {
            if (!string.IsNullOrWhiteSpace(header.Value) && !InternetAddressList.TryParse(strict, header.Value, out _))
            {
                return $"the Bcc header cannot be read ({header.Value.Trim()}): write each Bcc recipient as an address";
            }
        }

        foreach (var (field, list) in new[] { ("To", message.To), ("Cc", message.Cc), ("Bcc", message.Bcc) })
        {
            if (list.Mailboxes.FirstOrDefault(m => MailAddresses.Normalize(m.Address) is null) is { } bad)
            {
                return $"{field}: '{bad}' is not an e-mail address";
            }
        }

        return null;
    }

    private static RuleEvaluation NotEvaluated { get; } = new([], RuleDecision.Empty, []);

    /// <summary>The Bcc recipients no copy can be encrypted to with <paramref name="type"/>, with the composer's reason.</summary>
    private Dictionary<string, string> Unencryptable(RuleDecision decision, IReadOnlyList<string> bcc, string type) =>
        Composer(decision).BccOptions(bcc, type).Where(o => !o.Possible).ToDictionary(o => o.Address, o => o.Message, StringComparer.Ordinal);

    private ComposerSecurity Composer(RuleDecision decision) => new(Store, _settings.With(decision));

    private RuleEvaluation Evaluate(MimeMessage message, string? account, long size) =>
        _rules.Current.Evaluate(RuleMessage.From(message, null, RuleMessage.Outgoing, account, size), RuleDirection.Outgoing);

    /// <summary>A copy of its own for each recipient: the protected message, or (neither signed nor encrypted) the same headers and body.</summary>
    private OutgoingResult Protect(MimeMessage message, OutgoingRequest request) =>
        request.Sign || request.Encrypt
            ? _security.Protect(message, request)
            : OutgoingResult.Done(SignedContent.WithBody(message, message.Body ?? new TextPart("plain") { Text = string.Empty }), []);

    /// <summary>The sole sender, the distinct To + Cc recipients, and the distinct Bcc recipients not among them.</summary>
    private static (string? From, IReadOnlyList<string> ToCc, IReadOnlyList<string> Bcc) Addresses(MimeMessage message)
    {
        var senders = message.From.Mailboxes.Select(m => MailAddresses.Normalize(m.Address)).ToList();
        var from = senders.Count == 1 ? senders[0] : null;
        var toCc = message.To.Mailboxes.Concat(message.Cc.Mailboxes)
            .Select(m => MailAddresses.Normalize(m.Address)).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var bcc = message.Bcc.Mailboxes
            .Select(m => MailAddresses.Normalize(m.Address)).OfType<string>().Distinct(StringComparer.Ordinal)
            .Where(a => !toCc.Contains(a)).ToList();
        return (from, toCc, bcc);
    }

    /// <summary>The message's length as written and the SHA-256 of those bytes, in one pass and no buffer.</summary>
    private static (long Size, string Hash) Measure(MimeMessage message)
    {
        using var sha = SHA256.Create();
        using var measure = new MeasuringStream();
        using (var hashing = new CryptoStream(measure, sha, CryptoStreamMode.Write, leaveOpen: true))
        {
            message.WriteTo(hashing);
        }

        return (measure.Length, Convert.ToHexStringLower(sha.Hash!));
    }
}
