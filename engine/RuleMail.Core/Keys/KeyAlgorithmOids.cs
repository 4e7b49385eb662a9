namespace RuleMail.Keys;

/// <summary>Object identifiers of the public-key algorithms RuleMail handles in X.509 and PKCS#8.</summary>
internal static class KeyAlgorithmOids
{
    public const string Rsa = "1.2.840.113549.1.1.1";
    public const string Ec = "1.2.840.10045.2.1";
}
