using System.Text.Json.Nodes;
using RuleMail.Json;

namespace RuleMail.Host.Processing;

/// <summary>
/// Reading back the JSON the host stored (ledger, webhooks), which it writes through <see cref="ContractJson"/>.
/// </summary>
public static class HostJson
{
    /// <summary>A stored contract value read back; null for a missing one.</summary>
    public static T? Deserialize<T>(string? json) => json is null ? default : ContractJson.Deserialize<T>(json);

    /// <summary>A stored decision (see <see cref="Rules.DecisionJson"/>) in one line: <c>flag security-failed; move Quarantine; stop</c>.</summary>
    public static string DescribeDecision(string? json)
    {
        if (json is null || JsonNode.Parse(json) is not JsonObject decision || decision.Count == 0)
        {
            return "nothing";
        }

        return string.Join("; ", decision.Select(p => p.Value switch
        {
            JsonValue value when value.TryGetValue<bool>(out var flag) => flag ? p.Key : $"{p.Key} false",
            JsonValue value => $"{p.Key} {value}",
            JsonArray list => $"{p.Key} {string.Join(", ", list.Select(i => i?.ToString()))}",
            JsonObject map => $"{p.Key} {string.Join(", ", map.Select(h => $"{h.Key}: {h.Value}"))}",
            _ => p.Key,
        }));
    }
}
