namespace RuleMail.Host.Configuration;

/// <summary>The composer's security options: which type wins a tie, and how many recipients encryption allows.</summary>
public sealed class ComposerConfig
{
    /// <summary><c>smime</c> (default) or <c>pgp</c>.</summary>
    public string Prefer { get; set; } = "smime";

    /// <summary>The seed allows encryption for a single recipient; raise this to allow more.</summary>
    public int MaxEncryptionRecipients { get; set; } = 1;

    /// <summary>How many Bcc recipients one outgoing message may have (each gets a protected copy of its own); more holds it.</summary>
    public int MaxBccRecipients { get; set; } = 100;

    /// <summary>Encrypt outgoing mail to the sender's own certificate or key too, so the sent copy stays readable.</summary>
    public bool EncryptToSender { get; set; } = true;

    /// <summary>These settings in the composer's terms (the same for <c>options</c>, <c>compose</c> and the send job).</summary>
    [YamlDotNet.Serialization.YamlIgnore]
    public RuleMail.Composer.ComposerSettings Settings => new()
    {
        PreferPgp = RuleMail.Crypto.SecurityTypes.TryParse(Prefer, out var type) && type == RuleMail.Crypto.SecurityType.Pgp,
        MaxEncryptionRecipients = MaxEncryptionRecipients,
        EncryptToSender = EncryptToSender,
        MaxBccRecipients = MaxBccRecipients,
    };
}
