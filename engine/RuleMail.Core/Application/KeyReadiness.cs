namespace RuleMail.Application;

/// <summary>How far a front end proves the key store's private keys when it opens the store.</summary>
public enum KeyReadiness
{
    /// <summary>Nothing is opened (the composer's buttons need public keys only).</summary>
    PublicOnly,

    /// <summary>
    /// The passphrase is required when the store holds private keys and proven with one of them — the one a message needed,
    /// or one more after it: a one-message command (<c>check</c>) pays for one key derivation, not the whole store.
    /// </summary>
    Verified,

    /// <summary>Every private key is opened and kept open: a service refuses to start on a locked or wrongly unlocked key.</summary>
    Unlocked,
}
