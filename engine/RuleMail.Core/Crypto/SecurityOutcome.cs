namespace RuleMail.Crypto;

/// <summary>One side of a security result: did signing or encryption hold, and why, in a sentence a person can act on.</summary>
public sealed record SecurityOutcome(bool Success, string Comment)
{
    public static SecurityOutcome Succeeded(string comment) => new(true, comment);

    public static SecurityOutcome Failed(string comment) => new(false, comment);
}
