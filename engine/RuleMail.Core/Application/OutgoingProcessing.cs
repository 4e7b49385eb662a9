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
        var message = new MimeMessage();
        message.From.Add(MessageContent.Mailbox(draft.From, "from"));
        message.To.AddRange(draft.To.Select(a => MessageContent.Mailbox(a, "to")));
        message.Cc.AddRange(draft.Cc.Select(a => MessageContent.Mailbox(a, "cc")));
        message.Bcc.AddRange(draft.Bcc.Select(a => MessageContent.Mailbox(a, "bcc")));
        var evaluation = Evaluate(message, draft.Account, size: 0);
        var (from, toCc, bcc) = Addresses(message);
        return new OutgoingOptions(Composer(evaluation.Decision).For(from, toCc, bcc), evaluation);
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

    /// <summary>Decides and protects one outgoing message.</summary>
    /// <param name="message">The message; changed in place (see the remarks).</param>
    /// <param name="account">The address of the account it goes out from (what rules see as <c>account</c>); null when none.</param>
    /// <param name="choice">What the person chose; <see cref="OutgoingChoice.None"/> when nothing.</param>
    public OutgoingOutcome Process(MimeMessage message, string? account, OutgoingChoice choice)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(choice);
        OwnHeaders.Remove(message);
        var (from, toCc, bcc) = Addresses(message);
        if (from is null || toCc.Count + bcc.Count == 0)
        {
            return OutgoingOutcome.Held("the message needs one From address and at least one recipient", NotEvaluated);
        }

        var (size, hash) = Measure(message);
        var evaluation = Evaluate(message, account, size);
        var decision = evaluation.Decision;
        var options = Composer(decision).For(from, toCc, bcc);
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
        // Encryption by default (preferred) is done for every copy it is possible for; a Bcc copy it is not possible
        // for goes out as the rest of the plan says (signed or not), and the notes say so.
        var encryptRequired = choice.Encrypt ?? decision.Encrypt == Preference.Required;
        var unencryptable = plan.Encrypt ? Unencryptable(decision, from, bcc, plan.Type) : [];
        if (encryptRequired && unencryptable.Count > 0)
        {
            var (address, reason) = unencryptable.First();
            return OutgoingOutcome.Held($"cannot encrypt the copy for the Bcc recipient {address} with {plan.Type}: {reason}", evaluation, options);
        }

        var request = plan.Request(_settings.EncryptToSender);
        var bccMailboxes = message.Bcc.Mailboxes.ToList();
        var copies = new List<OutgoingCopy>();
        var notes = new List<string>();
        message.Bcc.Clear();
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
            message.Bcc.Clear();
            message.Bcc.Add(bccMailboxes.First(m => MailAddresses.Normalize(m.Address) == address));
            var plain = unencryptable.TryGetValue(address, out var why);
            var copy = Protect(message, plain ? request with { Encrypt = false } : request with { EncryptTo = [address] });
            if (copy.IsRefused)
            {
                return OutgoingOutcome.Held($"the copy for the Bcc recipient {address} cannot be protected: {copy.Refusal}", evaluation, options);
            }

            copies.Add(new OutgoingCopy(copy.Message, [address], address));
            if (plain)
            {
                notes.Add($"Bcc {address}: not encrypted: {why}");
            }

            notes.AddRange(copy.Notes.Select(n => $"Bcc {address}: {n}"));
        }

        message.Bcc.Clear();
        message.Bcc.AddRange(bccMailboxes);
        var description = bcc.Count == 0 ? plan.Description : $"{plan.Description}; {bcc.Count} Bcc {(bcc.Count == 1 ? "copy" : "copies")} of its own";
        if (unencryptable.Count > 0)
        {
            description += $"; not encrypted for {string.Join(", ", unencryptable.Keys)} ({string.Join(" ", unencryptable.Values)})";
        }

        return OutgoingOutcome.Send(copies, description, notes, evaluation, options);
    }

    private static RuleEvaluation NotEvaluated { get; } = new([], RuleDecision.Empty, []);

    /// <summary>The Bcc recipients no copy can be encrypted to with <paramref name="type"/>, with the composer's reason.</summary>
    private Dictionary<string, string> Unencryptable(RuleDecision decision, string from, IReadOnlyList<string> bcc, string type)
    {
        var composer = Composer(decision);
        var unencryptable = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var address in bcc)
        {
            var options = composer.For(from, [address]);
            var encryption = (type == SecurityResult.PgpType ? options.Pgp : options.Smime).Encryption;
            if (!encryption.Possible)
            {
                unencryptable[address] = encryption.Message;
            }
        }

        return unencryptable;
    }

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
