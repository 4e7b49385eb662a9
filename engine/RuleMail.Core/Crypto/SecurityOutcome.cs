using System.Text.Json.Serialization;

namespace RuleMail.Crypto;

/// <summary>
/// One side of a security result: did signing or encryption hold, and why, in a sentence a person can act on.
/// <see cref="Success"/> and <see cref="Comment"/> are the contract; the facts beside them (null when unknown or
/// not applying) let rules and screens say "quarantine anything encrypted without integrity".
/// </summary>
public sealed record SecurityOutcome(bool Success, string Comment)
{
    /// <summary>Signatures: who signed (address when the signer names one, and the certificate's or key's fingerprint).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SignerFacts? Signer { get; init; }

    /// <summary>Signatures: the digest algorithm, lower-case (<c>sha256</c>, <c>sha1</c>, <c>md5</c>, ...).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Digest { get; init; }

    /// <summary>Signatures: the signer's public key algorithm and size.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public KeyFacts? Key { get; init; }

    /// <summary>Encryption: the content cipher (<c>aes256-gcm</c>, <c>aes256-cbc</c>, <c>aes256</c>, <c>3des</c>, <c>cast5</c>, ...).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Cipher { get; init; }

    /// <summary>Encryption: <see cref="Integrity.Aead"/>, <see cref="Integrity.Mdc"/> or <see cref="Integrity.None"/>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Integrity { get; init; }

    public static SecurityOutcome Succeeded(string comment) => new(true, comment);

    public static SecurityOutcome Failed(string comment) => new(false, comment);
}
