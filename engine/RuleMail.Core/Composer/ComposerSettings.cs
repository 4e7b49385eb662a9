namespace RuleMail.Composer;

/// <summary>Site settings for the composer's security options.</summary>
public sealed record ComposerSettings
{
    /// <summary>Pick PGP, not S/MIME, when both can do as much.</summary>
    public bool PreferPgp { get; init; }

    /// <summary>
    /// How many recipients (To + Cc) encryption allows. The seed says outgoing mail can only be encrypted
    /// for a single recipient, so the default is 1.
    /// </summary>
    public int MaxEncryptionRecipients { get; init; } = 1;

    /// <summary>Whether the buttons are on by default when possible (the outgoing rules refine this).</summary>
    public bool SignByDefault { get; init; } = true;

    /// <summary>Whether encryption is on by default when possible.</summary>
    public bool EncryptByDefault { get; init; } = true;

    /// <summary>How many Bcc recipients one message may have: each gets a whole protected copy of its own.</summary>
    public int MaxBccRecipients { get; init; } = 100;

    /// <summary>Encrypt outgoing mail to the sender's own certificate or key too, so the sent copy stays readable.</summary>
    public bool EncryptToSender { get; init; } = true;

    /// <summary>
    /// These settings as the outgoing rules refine them: <c>never</c> turns a button off by default,
    /// <c>preferred</c>/<c>required</c> on; <c>security_type</c> picks the type that wins a tie.
    /// </summary>
    public ComposerSettings With(Rules.RuleDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        return this with
        {
            SignByDefault = decision.Sign is { } sign ? sign != Rules.Preference.Never : SignByDefault,
            EncryptByDefault = decision.Encrypt is { } encrypt ? encrypt != Rules.Preference.Never : EncryptByDefault,
            PreferPgp = decision.SecurityType is { } type ? type == Crypto.SecurityType.Pgp : PreferPgp,
        };
    }
}
