using System.Diagnostics.CodeAnalysis;
using RuleMail.Crypto;

namespace RuleMail.Composer;

/// <summary>
/// What to do with one outgoing message, as <see cref="OutgoingPlanner"/> decides it: hold it (with one line
/// saying why), or send it signed and/or encrypted with one type, or neither. A plan never says "send" while
/// a required protection is impossible.
/// </summary>
public sealed record OutgoingPlan
{
    private OutgoingPlan(string? hold, string? type, bool sign, bool encrypt, string? description)
    {
        Hold = hold;
        Type = type;
        Sign = sign;
        Encrypt = encrypt;
        Description = description;
    }

    /// <summary>
    /// Why the message must not be sent, e.g. <c>held by the outgoing rules: needs approval</c> or
    /// <c>cannot encrypt with S/MIME: The certificate for bob@example.org was not found.</c>; null when it may be sent.
    /// </summary>
    public string? Hold { get; }

    /// <summary><see cref="SecurityResult.SmimeType"/> or <see cref="SecurityResult.PgpType"/>; null when held.</summary>
    public string? Type { get; }

    /// <summary>Sign with <see cref="Type"/>. False when held.</summary>
    public bool Sign { get; }

    /// <summary>Encrypt with <see cref="Type"/>. False when held.</summary>
    public bool Encrypt { get; }

    /// <summary>
    /// What will be done, for people: <c>signed and encrypted with S/MIME</c>, <c>signed with S/MIME; this message
    /// will not be encrypted: …</c>, <c>encrypted with PGP, not signed</c> or <c>neither signed nor encrypted</c>.
    /// Null when held.
    /// </summary>
    public string? Description { get; }

    /// <summary>True when the message must not be sent; <see cref="Hold"/> says why.</summary>
    [MemberNotNullWhen(true, nameof(Hold))]
    [MemberNotNullWhen(false, nameof(Type), nameof(Description))]
    public bool IsHeld => Hold is not null;

    /// <summary>The request for <see cref="OutgoingSecurity.Protect"/>; only meaningful when <see cref="Sign"/> or <see cref="Encrypt"/> is set.</summary>
    /// <exception cref="InvalidOperationException">The plan is to hold the message.</exception>
    public OutgoingRequest Request(bool encryptToSender = true) =>
        IsHeld
            ? throw new InvalidOperationException($"A held message is not protected: {Hold}")
            : new OutgoingRequest(Type, Sign, Encrypt) { EncryptToSender = encryptToSender };

    /// <summary>Do not send; <paramref name="reason"/> says why in one line.</summary>
    public static OutgoingPlan Held(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return new OutgoingPlan(reason, null, false, false, null);
    }

    /// <summary>Send, signed and/or encrypted with <paramref name="type"/> as the flags say.</summary>
    public static OutgoingPlan Send(string type, bool sign, bool encrypt, string description)
    {
        if (type is not (SecurityResult.SmimeType or SecurityResult.PgpType))
        {
            throw new ArgumentException($"'{type}' is not {SecurityResult.SmimeType} or {SecurityResult.PgpType}", nameof(type));
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(description);
        return new OutgoingPlan(null, type, sign, encrypt, description);
    }
}
