namespace RuleMail.Host.State;

/// <summary>The seed's outcomes of an incoming message's current security result, as the ledger can be filtered by them.</summary>
public enum SecurityOutcomeFilter
{
    /// <summary>Decrypted (🔒 "This message was encrypted for you").</summary>
    Encrypted,

    /// <summary>Encrypted, but it could not be decrypted.</summary>
    DecryptFailed,

    /// <summary>Its signature was verified (✅).</summary>
    Verified,

    /// <summary>Signed, but the signature did not verify.</summary>
    SignatureFailed,

    /// <summary>Analysed, and neither signed nor encrypted.</summary>
    Plain,

    /// <summary>Its signature or its decryption failed (what the default rules quarantine and <c>retry</c> selects).</summary>
    SecurityFailed,
}
