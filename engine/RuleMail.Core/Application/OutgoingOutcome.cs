using System.Diagnostics.CodeAnalysis;
using RuleMail.Composer;
using RuleMail.Rules;

namespace RuleMail.Application;

/// <summary>
/// What <see cref="OutgoingProcessing"/> made of one outgoing message: held with one line saying why, or the
/// finished copies to hand to a transport. A held outcome carries no message, so nothing unprotected can be sent in
/// place of what was required.
/// </summary>
public sealed record OutgoingOutcome
{
    private OutgoingOutcome(string? hold, IReadOnlyList<OutgoingCopy> copies, string? description, IReadOnlyList<string> notes, RuleEvaluation rules, SecurityOptions? options)
    {
        Hold = hold;
        Copies = copies;
        Description = description;
        Notes = notes;
        Rules = rules;
        Options = options;
    }

    /// <summary>Why the message must not be sent; null when it may be.</summary>
    public string? Hold { get; }

    /// <summary>The finished copies, To/Cc first, then one per Bcc recipient; empty when held.</summary>
    public IReadOnlyList<OutgoingCopy> Copies { get; }

    /// <summary>What was done, for people (<c>signed and encrypted with S/MIME</c>, ...); null when held.</summary>
    public string? Description { get; }

    /// <summary>Which keys were used, and anything worth knowing (a sent copy the sender cannot read).</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>The outgoing rules' trace, decision and errors.</summary>
    public RuleEvaluation Rules { get; }

    /// <summary>The composer's options the plan was made from; null when the message was refused before (no sender, a bad choice header).</summary>
    public SecurityOptions? Options { get; }

    /// <summary>True when the message must not be sent; <see cref="Hold"/> says why.</summary>
    [MemberNotNullWhen(true, nameof(Hold))]
    [MemberNotNullWhen(false, nameof(Description))]
    public bool IsHeld => Hold is not null;

    /// <summary>The message is not sent, for the reason given.</summary>
    public static OutgoingOutcome Held(string reason, RuleEvaluation rules, SecurityOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        ArgumentNullException.ThrowIfNull(rules);
        return new OutgoingOutcome(reason, [], null, [], rules, options);
    }

    /// <summary>The message goes out as these copies.</summary>
    public static OutgoingOutcome Send(IReadOnlyList<OutgoingCopy> copies, string description, IReadOnlyList<string> notes, RuleEvaluation rules, SecurityOptions options)
    {
        ArgumentNullException.ThrowIfNull(copies);
        if (copies.Count == 0)
        {
            throw new ArgumentException("a message that is sent has at least one copy", nameof(copies));
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(description);
        return new OutgoingOutcome(null, copies, description, notes, rules, options);
    }
}
