using RuleMail.Rules;

namespace RuleMail.Json;

/// <summary>
/// What <c>GET /api/v1/rules</c> answers: the rule set in force — the one the next message is judged by — as its
/// folder and every rule in the order they run. It can differ from the files in the folder now: a running host keeps
/// its last good set when the folder stops loading (<c>POST /api/v1/rules/lint</c> says what the folder holds).
/// </summary>
public sealed record RuleListDocument(string Folder, IReadOnlyList<RuleListEntry> Rules)
{
    public static RuleListDocument From(RuleSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        return new RuleListDocument(set.Directory, [.. set.Rules.Select(RuleListEntry.From)]);
    }
}
