using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace RuleMail.Host.Processing;

/// <summary>The JSON the host writes (ledger, webhooks): snake_case like the contracts, compact, readable non-ASCII.</summary>
public static class HostJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T? Deserialize<T>(string? json) => json is null ? default : JsonSerializer.Deserialize<T>(json, Options);

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
