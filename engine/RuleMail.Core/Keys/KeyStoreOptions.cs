namespace RuleMail.Keys;

/// <summary>How a <see cref="KeyStore"/> tells time and unlocks private keys.</summary>
public sealed class KeyStoreOptions
{
    /// <summary>The clock for validity and status. Defaults to the system clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Protects private keys at rest; needed to import or use them, not to list.</summary>
    public KeyStorePassphrase? Passphrase { get; init; }

    /// <summary>PBKDF2-HMAC-SHA256 iterations for S/MIME private keys written by this store.</summary>
    public int Pkcs8Iterations { get; init; } = 600_000;
}
