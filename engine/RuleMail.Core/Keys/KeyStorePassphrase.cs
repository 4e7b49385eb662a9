using System.Text;

namespace RuleMail.Keys;

/// <summary>
/// The secret that protects private keys at rest. It never appears in <see cref="ToString"/>,
/// logs or files.
/// </summary>
public sealed class KeyStorePassphrase
{
    /// <summary>The environment variable the store passphrase is read from.</summary>
    public const string EnvironmentVariable = "RULEMAIL_KEYSTORE_PASSPHRASE";

    private readonly string _value;

    public KeyStorePassphrase(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        _value = value;
    }

    internal string Value => _value;

    internal char[] ToChars() => _value.ToCharArray();

    internal byte[] ToUtf8() => Encoding.UTF8.GetBytes(_value);

    /// <summary>Reads the first line of <paramref name="path"/> (a passphrase file named in the config).</summary>
    public static KeyStorePassphrase FromFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KeyStoreException($"{path}: cannot read the key store passphrase file: {e.Message}", e);
        }

        var firstLine = text.Split('\n', 2)[0].TrimEnd('\r');
        if (firstLine.Length == 0)
        {
            throw new KeyStoreException($"{path}: the key store passphrase file is empty");
        }

        return new KeyStorePassphrase(firstLine);
    }

    public override string ToString() => "(passphrase)";
}
