namespace RuleMail.Composer;

/// <summary>
/// Whether one Bcc recipient can get a copy encrypted to them alone with the chosen type, and why, in the same
/// words as the encryption possibility ("The certificate for dave@example.org was found.").
/// </summary>
/// <param name="Address">The normalized address.</param>
/// <param name="Possible">The address has a valid certificate or key of the chosen type usable for encryption.</param>
public sealed record BccOption(string Address, bool Possible, string Message);
