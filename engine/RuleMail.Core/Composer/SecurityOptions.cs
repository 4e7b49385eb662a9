namespace RuleMail.Composer;

/// <summary>
/// The composer's security options for one sender and its recipients (the contract in DESIGN.md): what
/// each type can do, the type chosen by default, whether both types offer something (the seed's switch
/// button), and the two buttons for the chosen type.
/// </summary>
/// <param name="Type"><c>"S/MIME"</c>, <c>"PGP"</c>, or null when neither type can sign or encrypt.</param>
public sealed record SecurityOptions(
    SecurityTypeOptions Smime,
    SecurityTypeOptions Pgp,
    string? Type,
    bool Switch,
    SecurityButton Sign,
    SecurityButton Encrypt);
