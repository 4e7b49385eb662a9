namespace RuleMail.Composer;

/// <summary>What one security type (S/MIME or PGP) can do for a message.</summary>
public sealed record SecurityTypeOptions(Possibility Sign, Possibility Encryption)
{
    /// <summary>Encryption counts more than signing when the composer picks a type.</summary>
    internal int Strength => (Encryption.Possible ? 2 : 0) + (Sign.Possible ? 1 : 0);
}
