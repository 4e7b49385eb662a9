using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace RuleMail.Rules;

/// <summary>
/// A YAML rule's <c>when</c>: field conditions combined with <c>all</c>, <c>any</c> and <c>not</c>. A field
/// condition holds when any value at its path satisfies it (so <c>to.domain: example.org</c> holds when one
/// recipient is at example.org). Strings compare without regard to case.
/// </summary>
internal abstract class Condition
{
    /// <summary>Whether the condition holds; <paramref name="because"/> gets the field conditions that made it so.</summary>
    public abstract bool Holds(RuleMessage message, List<string> because);

    public sealed class All(IReadOnlyList<Condition> parts) : Condition
    {
        public override bool Holds(RuleMessage message, List<string> because)
        {
            var mark = because.Count;
            foreach (var part in parts)
            {
                if (!part.Holds(message, because))
                {
                    because.RemoveRange(mark, because.Count - mark);
                    return false;
                }
            }

            return true;
        }
    }

    public sealed class Any(IReadOnlyList<Condition> parts) : Condition
    {
        public override bool Holds(RuleMessage message, List<string> because)
        {
            foreach (var part in parts)
            {
                var mark = because.Count;
                if (part.Holds(message, because))
                {
                    return true;
                }

                because.RemoveRange(mark, because.Count - mark);
            }

            return false;
        }
    }

    public sealed class Not(Condition inner, string text) : Condition
    {
        public override bool Holds(RuleMessage message, List<string> because)
        {
            var scratch = new List<string>();
            if (inner.Holds(message, scratch))
            {
                return false;
            }

            because.Add($"not ({text})");
            return true;
        }
    }

    /// <summary>One operator on one field path.</summary>
    public sealed class Field(string path, string op, object? operand, Regex? pattern) : Condition
    {
        public string Path { get; } = path;

        public override bool Holds(RuleMessage message, List<string> because)
        {
            var values = message.Resolve(Path);
            var holds = op switch
            {
                "equals" => operand is null ? values.Count == 0 || values.Any(v => v is null) : values.Any(v => AreEqual(v, operand)),
                "contains" => values.Any(v => Text(v) is { } text && text.Contains((string)operand!, StringComparison.OrdinalIgnoreCase)),
                "matches" => values.Any(v => Text(v) is { } text && pattern!.IsMatch(text)),
                "in" => values.Any(v => ((IReadOnlyList<object?>)operand!).Any(item => AreEqual(v, item))),
                "domain" => values.Any(v => InDomain(v, (string)operand!)),
                "exists" => values.Any(v => v is not null) == (bool)operand!,
                "gt" => values.Any(v => Compare(v, operand) > 0),
                "lt" => values.Any(v => Compare(v, operand) < 0),
                _ => throw new InvalidOperationException($"unknown operator {op}"),
            };
            if (holds)
            {
                because.Add(Describe());
            }

            return holds;
        }

        public string Describe() => op switch
        {
            "equals" => $"{Path} = {Show(operand)}",
            "in" => $"{Path} in [{string.Join(", ", ((IReadOnlyList<object?>)operand!).Select(Show))}]",
            _ => $"{Path} {op} {Show(operand)}",
        };

        private static string Show(object? value) => value switch
        {
            null => "null",
            bool flag => flag ? "true" : "false",
            string text => text,
            _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty,
        };

        private static string? Text(JsonNode? node) => node switch
        {
            JsonObject obj when obj["address"] is JsonValue address => address.GetValue<string>(),
            JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
            JsonValue value => value.ToJsonString(),
            _ => null,
        };

        private static bool AreEqual(JsonNode? node, object? expected)
        {
            if (node is null)
            {
                return expected is null;
            }

            if (node is JsonValue value)
            {
                switch (value.GetValueKind())
                {
                    case JsonValueKind.True:
                    case JsonValueKind.False:
                        return expected is bool flag && flag == value.GetValue<bool>();
                    case JsonValueKind.Number:
                        return expected is double number && number == Number(value);
                }
            }

            return expected is not null && Text(node) is { } text &&
                   string.Equals(text, Convert.ToString(expected, CultureInfo.InvariantCulture), StringComparison.OrdinalIgnoreCase);
        }

        private static double Number(JsonValue value) =>
            value.TryGetValue<double>(out var d) ? d : value.TryGetValue<long>(out var l) ? l : value.TryGetValue<int>(out var i) ? i : double.NaN;

        private static bool InDomain(JsonNode? node, string domain)
        {
            var text = node is JsonObject obj && obj["domain"] is JsonValue d ? d.GetValue<string>() : Text(node);
            if (text is null)
            {
                return false;
            }

            var at = text.LastIndexOf('@');
            var host = (at >= 0 ? text[(at + 1)..] : text).TrimEnd('>').ToLowerInvariant();
            return host == domain || host.EndsWith("." + domain, StringComparison.Ordinal);
        }

        private static int Compare(JsonNode? node, object? operand)
        {
            if (node is JsonValue value && value.GetValueKind() == JsonValueKind.Number && operand is double number)
            {
                return Number(value).CompareTo(number);
            }

            if (Text(node) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)
                && operand is DateTimeOffset when)
            {
                return date.CompareTo(when);
            }

            // Not comparable: neither greater nor less.
            return 0;
        }
    }
}
