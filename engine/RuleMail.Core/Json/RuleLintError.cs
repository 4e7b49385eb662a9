using RuleMail.Rules;

namespace RuleMail.Json;

/// <summary>One problem of a rule file, where it is: <c>file:line:col: message</c> (line and column 0 when the problem has no place, such as an unreadable file).</summary>
public sealed record RuleLintError(string File, int Line, int Column, string Message)
{
    public static RuleLintError From(RuleLoadError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new RuleLintError(error.File, error.Line, error.Column, error.Message);
    }
}
