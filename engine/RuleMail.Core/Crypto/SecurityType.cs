namespace RuleMail.Crypto;

/// <summary>The two kinds of secure mail RuleMail reads and writes. <see cref="SecurityTypes"/> names and parses them, in one place.</summary>
public enum SecurityType
{
    /// <summary>S/MIME (CMS, X.509 certificates).</summary>
    Smime,

    /// <summary>OpenPGP (PGP/MIME, OpenPGP keys).</summary>
    Pgp,
}
