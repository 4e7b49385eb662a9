namespace RuleMail.Core.Tests.Support;

/// <summary>The two secrets of the issue: P protects the store, Q protects the files being imported.</summary>
internal static class Passphrases
{
    /// <summary>P: the key store passphrase (RULEMAIL_KEYSTORE_PASSPHRASE).</summary>
    public const string Store = "store-P-7e29c41a0b";

    /// <summary>Q: protects the encrypted inputs (PKCS#12, encrypted PKCS#8, legacy PEM, gpg secret keys).</summary>
    public const string File = "file-Q-5b1d9e77c2";
}
