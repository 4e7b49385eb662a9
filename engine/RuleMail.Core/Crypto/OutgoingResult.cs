using System.Diagnostics.CodeAnalysis;
using MimeKit;

namespace RuleMail.Crypto;

/// <summary>
/// The outcome of protecting an outgoing message: the finished message, or a refusal in one line that names
/// what is missing. A refusal carries no message, so plaintext can never be sent in place of what was asked.
/// </summary>
public sealed record OutgoingResult
{
    private OutgoingResult(MimeMessage? message, string? refusal, IReadOnlyList<string> notes)
    {
        Message = message;
        Refusal = refusal;
        Notes = notes;
    }

    /// <summary>The signed and/or encrypted message (the original headers, a new body); null when refused.</summary>
    public MimeMessage? Message { get; }

    /// <summary>Why the request could not be carried out, e.g. "Cannot encrypt with S/MIME: no valid certificate for bob@example.org".</summary>
    public string? Refusal { get; }

    /// <summary>What was done and with which keys, and anything worth knowing (such as a sent copy the sender cannot read).</summary>
    public IReadOnlyList<string> Notes { get; }

    [MemberNotNullWhen(true, nameof(Refusal))]
    [MemberNotNullWhen(false, nameof(Message))]
    public bool IsRefused => Refusal is not null;

    public static OutgoingResult Done(MimeMessage message, IReadOnlyList<string> notes)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(notes);
        return new OutgoingResult(message, null, notes);
    }

    public static OutgoingResult Refused(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return new OutgoingResult(null, reason, []);
    }
}
