namespace RuleMail.Keys;

/// <summary>What a certificate or key may be used for in mail.</summary>
[Flags]
public enum KeyUsages
{
    None = 0,

    /// <summary>Signing messages (keyUsage digitalSignature/nonRepudiation, PGP flag 0x02).</summary>
    Sign = 1,

    /// <summary>Encrypting messages to the holder (keyUsage keyEncipherment/keyAgreement, PGP flags 0x04/0x08).</summary>
    Encrypt = 2,
}
