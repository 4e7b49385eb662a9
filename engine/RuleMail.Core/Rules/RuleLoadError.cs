namespace RuleMail.Rules;

/// <summary>A problem found while loading rules, with its place: <c>file:line:col: message</c>.</summary>
public sealed record RuleLoadError(string File, int Line, int Column, string Message)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}:{Column}: {Message}" : $"{File}: {Message}";
}
