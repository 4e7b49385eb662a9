namespace RuleMail.Keys;

/// <summary>The key store cannot do what was asked: bad input, a broken store, a missing or wrong passphrase.</summary>
public sealed class KeyStoreException : RuleMailException
{
    public KeyStoreException()
    {
    }

    public KeyStoreException(string message)
        : base(message)
    {
    }

    public KeyStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
