namespace RuleMail.Composer;

/// <summary>Whether one thing (signing or encryption with one security type) is possible, and why, in Zammad's words.</summary>
public sealed record Possibility(bool Possible, string Message);
