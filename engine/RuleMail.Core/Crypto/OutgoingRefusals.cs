namespace RuleMail.Crypto;

/// <summary>
/// The one-line reasons <see cref="OutgoingSecurity"/> gives when it cannot do what was asked. Each names what is
/// missing and for whom, so a person knows which certificate or key to ask the administrator for.
/// </summary>
public static class OutgoingRefusals
{
    public const string NoBody = "Cannot sign or encrypt: the message has no body";

    public static string UnknownType(string type) =>
        $"Cannot sign or encrypt: unknown security type \"{type}\" (expected S/MIME or PGP)";

    public static string NoSender(string type) => $"Cannot sign with {type}: the message has no From address";

    public static string NoRecipient(string type) => $"Cannot encrypt with {type}: the message has no recipient (To or Cc)";

    public static string NoRecipientGiven(string type) => $"Cannot encrypt with {type}: the list of recipients to encrypt to is empty";

    public static string NotAnAddress(string type, string text) => $"Cannot encrypt with {type}: \"{text}\" is not a mail address";

    public static string NoSigningCertificate(string address) =>
        $"Cannot sign with S/MIME: no valid certificate with a private key for {address}";

    public static string NoEncryptionCertificate(string address) => $"Cannot encrypt with S/MIME: no valid certificate for {address}";

    public static string NotAnRsaCertificate(string address, string subject) =>
        $"Cannot encrypt with S/MIME: the certificate for {address} ({subject}) has no RSA key, and S/MIME encryption here needs one";

    public static string UnsupportedCipher(string oid) =>
        $"Cannot encrypt with S/MIME: the content cipher {oid} is not supported (use AES-128, AES-192 or AES-256 in CBC mode)";

    public static string NoSigningKey(string address) => $"Cannot sign with PGP: no valid PGP key with a secret signing key for {address}";

    public static string NoEncryptionKey(string address) => $"Cannot encrypt with PGP: no valid PGP key for {address}";

    public static string PrivateKeyUnavailable(string type, string address, string detail) =>
        $"Cannot sign with {type}: the private key for {address} could not be opened ({detail.TrimEnd('.')})";

    public static string Failed(string type, string detail) => $"Cannot sign or encrypt with {type}: {detail.Split('\n')[0].TrimEnd('.')}";
}
