using System.Text.Json;
using System.Text.Json.Nodes;
using Jint;
using Jint.Native;
using Jint.Native.Function;
using Jint.Runtime.Descriptors;

namespace RuleMail.Rules;

/// <summary>
/// Copies the message model (<see cref="RuleMessage.Root"/>) into one engine as plain, deeply frozen
/// JavaScript values: objects, arrays, strings, numbers, booleans and null. Nothing of the host is reachable
/// from the copy, and in strict mode every write, addition or deletion on it throws.
/// </summary>
/// <remarks>
/// Built in C# rather than with <c>JSON.parse</c> plus a freezing walk in script: that was about ten times
/// slower. Objects get read-only, non-configurable properties and are made non-extensible (which is what
/// <c>Object.freeze</c> does); arrays go through the engine's own <c>Object.freeze</c>, captured before the
/// rule's script ran so the script cannot replace it.
/// </remarks>
internal static class JavaScriptMessage
{
    private const PropertyFlag ReadOnly = PropertyFlag.Enumerable | PropertyFlag.WritableSet | PropertyFlag.ConfigurableSet;

    public static JsValue Build(Engine engine, Function freeze, JsonObject root)
    {
        ArgumentNullException.ThrowIfNull(root);
        return Value(engine, freeze, root);
    }

    private static JsValue Value(Engine engine, Function freeze, JsonNode? node) => node switch
    {
        null => JsValue.Null,
        JsonObject obj => Object(engine, freeze, obj),
        JsonArray array => Array(engine, freeze, array),
        JsonValue value => Primitive(value),
        _ => throw new ArgumentException($"unexpected JSON node {node.GetType().Name}", nameof(node)),
    };

    private static JsObject Object(Engine engine, Function freeze, JsonObject obj)
    {
        var result = new JsObject(engine);
        foreach (var (name, value) in obj)
        {
            result.FastSetProperty(name, new PropertyDescriptor(Value(engine, freeze, value), ReadOnly));
        }

        result.PreventExtensions();
        return result;
    }

    private static JsArray Array(Engine engine, Function freeze, JsonArray array)
    {
        var items = new JsValue[array.Count];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = Value(engine, freeze, array[i]);
        }

        var result = new JsArray(engine, items);
        freeze.Call(JsValue.Undefined, [result]);
        return result;
    }

    private static JsValue Primitive(JsonValue value)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.String:
                return JsString.Create(value.TryGetValue<string>(out var text) ? text : Reparsed(value, e => e.GetString()!));
            case JsonValueKind.True:
                return JsBoolean.True;
            case JsonValueKind.False:
                return JsBoolean.False;
            case JsonValueKind.Number:
                if (value.TryGetValue<long>(out var whole))
                {
                    return JsNumber.Create(whole);
                }

                if (value.TryGetValue<int>(out var small))
                {
                    return JsNumber.Create(small);
                }

                return JsNumber.Create(value.TryGetValue<double>(out var number) ? number : Reparsed(value, e => e.GetDouble()));
            default:
                return JsValue.Null;
        }
    }

    /// <summary>A value held as some other .NET type (a date, a decimal, ...): read it back as JSON.</summary>
    private static T Reparsed<T>(JsonValue value, Func<JsonElement, T> read)
    {
        using var document = JsonDocument.Parse(value.ToJsonString());
        return read(document.RootElement);
    }
}
