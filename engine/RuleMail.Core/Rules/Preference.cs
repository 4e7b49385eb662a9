namespace RuleMail.Rules;

/// <summary>
/// How strongly a rule asks for signing or encryption. When rules disagree the stronger wins:
/// <see cref="Required"/> beats <see cref="Preferred"/> beats <see cref="Never"/>.
/// </summary>
public enum Preference
{
    /// <summary>Do not sign/encrypt.</summary>
    Never = 0,

    /// <summary>Sign/encrypt when possible; send as is otherwise.</summary>
    Preferred = 1,

    /// <summary>Sign/encrypt or hold the message: never send it unprotected.</summary>
    Required = 2,
}
