namespace RuleMail.Keys;

/// <summary>What a key store entry holds.</summary>
public enum KeyKind
{
    /// <summary>An X.509 certificate for S/MIME (possibly with its private key), or a CA certificate.</summary>
    Smime,

    /// <summary>An OpenPGP key (public key ring, possibly with its secret keys).</summary>
    Pgp,

    /// <summary>A certificate revocation list the admin imported.</summary>
    Crl,
}
