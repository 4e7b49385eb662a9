namespace RuleMail.Composer;

/// <summary>The seed's outgoing hover texts and the messages of the security options.</summary>
public static class SecurityTexts
{
    public const string WillBeEncrypted = "This message will be encrypted.";
    public const string WillNotBeEncrypted = "This message will not be encrypted.";
    public const string WillBeSigned = "This message will be signed.";
    public const string WillNotBeSigned = "This message will not be signed.";
    public const string SingleRecipientOnly = "Outgoing emails can only be encrypted for a single recipient.";
    public const string NoRecipient = "There is no recipient to encrypt for.";
    public const string NoSender = "The message has no sender address.";
    public const string AskForRecipientCertificate = "Ask your administrator to add the recipient's certificate to the key store.";
    public const string AskForPrivateKey = "Ask your administrator to verify your organization's private key in the key store.";

    public static string TooManyRecipients(int allowed) =>
        allowed == 1 ? SingleRecipientOnly : $"Outgoing emails can only be encrypted for up to {allowed} recipients.";
}
