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
}
