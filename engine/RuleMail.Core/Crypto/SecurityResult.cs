namespace RuleMail.Crypto;

/// <summary>
/// The security result of an incoming message (the contract in DESIGN.md, shaped like Zammad's article
/// preference): which system was used, and the outcome of the signature and of the encryption.
/// </summary>
/// <param name="Type"><c>"S/MIME"</c>, <c>"PGP"</c>, or null when the message is neither signed nor encrypted.</param>
/// <param name="Sign">Null when the message carries no signature that covers it.</param>
/// <param name="Encryption">Null when the message was not encrypted (as a whole).</param>
public sealed record SecurityResult(string? Type, SecurityOutcome? Sign, SecurityOutcome? Encryption)
{
    public const string SmimeType = "S/MIME";
    public const string PgpType = "PGP";

    /// <summary>A plain message: neither signed nor encrypted.</summary>
    public static SecurityResult None { get; } = new(null, null, null);
}
