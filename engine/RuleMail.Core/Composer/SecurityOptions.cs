namespace RuleMail.Composer;

/// <summary>
/// The composer's security options for one sender and its recipients (the contract in DESIGN.md): what
/// each type can do, the type chosen by default, whether both types offer something (the seed's switch
/// button), the two buttons for the chosen type, and each Bcc recipient apart.
/// </summary>
/// <param name="Type"><c>"S/MIME"</c>, <c>"PGP"</c>, or null when neither type can sign or encrypt.</param>
public sealed record SecurityOptions(
    SecurityTypeOptions Smime,
    SecurityTypeOptions Pgp,
    string? Type,
    bool Switch,
    SecurityButton Sign,
    SecurityButton Encrypt)
{
    /// <summary>
    /// One entry per distinct Bcc address, for <see cref="Type"/> (S/MIME when it is null): each Bcc recipient gets a copy
    /// encrypted to them alone, so they count neither for <see cref="SecurityTypeOptions.Encryption"/> nor for the
    /// single-recipient rule. Empty when there is no Bcc.
    /// </summary>
    public IReadOnlyList<BccOption> Bcc { get; init; } = [];

    /// <summary>The outgoing rules that decided signing or encryption; absent from the JSON when no rule did.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public RuleProtection? DecidedBy { get; init; }
}
