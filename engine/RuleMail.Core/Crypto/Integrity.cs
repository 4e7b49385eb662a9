namespace RuleMail.Crypto;

/// <summary>The values of <see cref="SecurityOutcome.Integrity"/>: how the encrypted content is protected against change.</summary>
public static class Integrity
{
    /// <summary>Authenticated encryption (AES-GCM, OpenPGP AEAD).</summary>
    public const string Aead = "aead";

    /// <summary>OpenPGP's modification detection code (SEIPD v1).</summary>
    public const string Mdc = "mdc";

    /// <summary>No integrity protection (CBC in CMS enveloped-data, OpenPGP SED).</summary>
    public const string None = "none";

    /// <summary>
    /// The message decrypted and its plaintext cannot have been changed unnoticed: authenticated encryption, OpenPGP's
    /// MDC, or a valid signature over the content. Only then may decrypted content leave RuleMail (a webhook, the API's
    /// <c>check?out=mime</c>); CBC-only S/MIME without a signature or OpenPGP without MDC never does (EFAIL).
    /// </summary>
    public static bool Held(SecurityResult security)
    {
        ArgumentNullException.ThrowIfNull(security);
        return security.Encryption is { Success: true } encryption
            && (encryption.Integrity is Aead or Mdc || security.Sign is { Success: true });
    }
}
