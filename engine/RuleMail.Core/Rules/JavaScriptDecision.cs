using System.Globalization;
using Jint;
using Jint.Native;
using Jint.Native.Function;
using Jint.Native.Object;

namespace RuleMail.Rules;

/// <summary>
/// Reads what <c>decide(message)</c> returned into a <see cref="RuleDecision"/> through
/// <see cref="DecisionKeys"/>. Only own, enumerable data properties are read (as <c>JSON.stringify</c> would,
/// <c>undefined</c> values are left out), so no script code runs after the call and outside its limits: a
/// getter is reported, never called.
/// </summary>
internal static class JavaScriptDecision
{
    /// <summary>A decision needs at most a list of maps holding a list (<c>webhook: [{url, include: [text]}]</c>); deeper values are only named.</summary>
    private const int MaxDepth = 3;

    /// <summary>More flags, tags or headers than this is a mistake, and reading them all would be unmetered work.</summary>
    private const int MaxItems = 1000;

    /// <summary>
    /// The decision, or null with <paramref name="error"/> null when the script returned null or undefined
    /// (no match), or null with one line in <paramref name="error"/> when the value is not a valid decision.
    /// </summary>
    public static RuleDecision? Read(JsValue value, out string? error)
    {
        error = null;
        if (value.IsNull() || value.IsUndefined())
        {
            return null;
        }

        if (PlainObject(value) is not { } decision)
        {
            error = $"decide() must return a decision object, null or undefined, not {Describe(value)}";
            return null;
        }

        var problems = new List<(string Key, string Message)>();
        var result = DecisionKeys.Read(Entries(decision, 0), problems);
        if (problems.Count > 0)
        {
            error = "decide() returned a bad decision: " + string.Join("; ", problems.Select(p => $"{p.Key}: {p.Message}"));
            return null;
        }

        return result;
    }

    /// <summary>
    /// The value as a plain object, or null: an object literal, or a part of the frozen message (a plain object to the
    /// script, so it is read like one). Arrays, functions, dates and other built-ins are not.
    /// </summary>
    private static ObjectInstance? PlainObject(JsValue value) => value is JsObject or JavaScriptFrozenObject ? (ObjectInstance)value : null;

    private static List<KeyValuePair<string, object?>> Entries(ObjectInstance obj, int depth)
    {
        var entries = new List<KeyValuePair<string, object?>>();
        foreach (var (key, property) in obj.GetOwnProperties())
        {
            if (key.IsSymbol() || !property.Enumerable)
            {
                continue;
            }

            if (entries.Count == MaxItems)
            {
                entries.Add(new(key.ToString(), new Unsupported($"more than {MaxItems} entries")));
                break;
            }

            if (property.IsAccessorDescriptor())
            {
                entries.Add(new(key.ToString(), new Unsupported("a getter (decisions take plain values)")));
            }
            else if (!property.Value.IsUndefined())
            {
                entries.Add(new(key.ToString(), Plain(property.Value, depth)));
            }
        }

        return entries;
    }

    private static object? Plain(JsValue value, int depth)
    {
        if (value.IsNull() || value.IsUndefined())
        {
            return null;
        }

        if (value.IsString())
        {
            return value.ToString();
        }

        if (value.IsBoolean())
        {
            return value.AsBoolean();
        }

        if (value.IsNumber())
        {
            return value.AsNumber();
        }

        if (depth >= MaxDepth)
        {
            // DecisionKeys names a list or a map where text belongs; their contents do not matter.
            return value switch
            {
                JsArray => Array.Empty<object?>(),
                _ when PlainObject(value) is not null => Array.Empty<KeyValuePair<string, object?>>(),
                _ => new Unsupported(Describe(value)),
            };
        }

        return value switch
        {
            JsArray array => Elements(array, depth + 1),
            _ when PlainObject(value) is { } obj => Entries(obj, depth + 1),
            _ => new Unsupported(Describe(value)),
        };
    }

    private static object Elements(JsArray array, int depth)
    {
        if (array.Length > MaxItems)
        {
            return new Unsupported($"a list of {array.Length} items (at most {MaxItems})");
        }

        var items = new List<object?>((int)array.Length);
        for (uint i = 0; i < array.Length; i++)
        {
            var property = array.GetOwnProperty(i);
            items.Add(property.IsAccessorDescriptor() ? new Unsupported("a getter (decisions take plain values)") : Plain(property.Value, depth));
        }

        return items;
    }

    private static string Describe(JsValue value) => value switch
    {
        _ when value.IsString() => "a text",
        _ when value.IsBoolean() => value.AsBoolean() ? "true" : "false",
        _ when value.IsNumber() => "the number " + value.AsNumber().ToString(CultureInfo.InvariantCulture),
        _ when value.IsBigInt() => "a BigInt",
        _ when value.IsSymbol() => "a symbol",
        JsArray => "an array",
        Function => "a function",
        ObjectInstance => "an object that is not a plain object",
        _ => "a value of type " + value.Type,
    };

    /// <summary>Stands for a value no decision key takes; DecisionKeys quotes its description in the problem.</summary>
    private sealed record Unsupported(string What)
    {
        public override string ToString() => What;
    }
}
