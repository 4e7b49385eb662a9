using System.Text.Json;
using System.Text.Json.Nodes;
using Jint;
using Jint.Native;
using Jint.Runtime.Descriptors;

namespace RuleMail.Rules;

/// <summary>
/// The message model (<see cref="RuleMessage.Root"/>) read once per message into a form every JavaScript rule's
/// engine copies from (<see cref="Copy"/>): plain, deeply frozen JavaScript values (objects, arrays, strings,
/// numbers, booleans and null). Nothing of the host is reachable from a copy, and in strict mode every write,
/// addition or deletion on it throws.
/// </summary>
/// <remarks>
/// <para>
/// Thread-safe and immutable. Walking the <see cref="JsonNode"/> tree (kinds, numbers, strings) is done once per
/// message here instead of once per rule; what is left per engine is making its objects. The strings and numbers
/// are shared by the copies of all engines: Jint's primitives hold no engine and cannot change (Jint shares its
/// own, such as the empty string, between engines). Objects and property descriptors belong to one engine each.
/// </para>
/// <para>
/// Built and frozen in C# rather than with <c>JSON.parse</c> plus a freezing walk in script (about ten times
/// slower). Objects and arrays get read-only, non-configurable properties (an array's <c>length</c> too) and are
/// made non-extensible, which is what <c>Object.freeze</c> does; calling the engine's own <c>Object.freeze</c> from
/// C# for each array instead (as before) cost more than making the array, since each call is a full call into
/// the engine.
/// </para>
/// </remarks>
internal sealed class JavaScriptMessage
{
    private const PropertyFlag ReadOnly = PropertyFlag.Enumerable | PropertyFlag.WritableSet | PropertyFlag.ConfigurableSet;

    private static readonly JsString Length = new("length");

    private readonly ObjectNode _root;

    private JavaScriptMessage(ObjectNode root) => _root = root;

    public static JavaScriptMessage From(JsonObject root)
    {
        ArgumentNullException.ThrowIfNull(root);
        return new JavaScriptMessage(ObjectNode.From(root));
    }

    /// <summary>A new frozen copy in <paramref name="engine"/>; runs no script (so no script can change how it is made).</summary>
    public JsValue Copy(Engine engine) => _root.Copy(engine);

    private static Node Read(JsonNode? node) => node switch
    {
        null => PrimitiveNode.Null,
        JsonObject obj => ObjectNode.From(obj),
        JsonArray array => ArrayNode.From(array),
        JsonValue value => new PrimitiveNode(Primitive(value)),
        _ => throw new ArgumentException($"unexpected JSON node {node.GetType().Name}", nameof(node)),
    };

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

    /// <summary>A new array accepts each of these; a refusal would leave the copy writable, so it is no copy.</summary>
    private static void Frozen(bool done)
    {
        if (!done)
        {
            throw new InvalidOperationException("Jint refused to freeze a new array of the message");
        }
    }

    private abstract class Node
    {
        public abstract JsValue Copy(Engine engine);
    }

    private sealed class PrimitiveNode(JsValue value) : Node
    {
        public static readonly PrimitiveNode Null = new(JsValue.Null);

        public override JsValue Copy(Engine engine) => value;
    }

    private sealed class ObjectNode(string[] names, Node[] values) : Node
    {
        public static ObjectNode From(JsonObject obj)
        {
            var names = new string[obj.Count];
            var values = new Node[obj.Count];
            var i = 0;
            foreach (var (name, value) in obj)
            {
                names[i] = name;
                values[i] = Read(value);
                i++;
            }

            return new ObjectNode(names, values);
        }

        public override JsValue Copy(Engine engine)
        {
            var result = new JsObject(engine);
            for (var i = 0; i < names.Length; i++)
            {
                result.FastSetProperty(names[i], new PropertyDescriptor(values[i].Copy(engine), ReadOnly));
            }

            result.PreventExtensions();
            return result;
        }
    }

    private sealed class ArrayNode(Node[] items) : Node
    {
        public static ArrayNode From(JsonArray array)
        {
            var items = new Node[array.Count];
            for (var i = 0; i < items.Length; i++)
            {
                items[i] = Read(array[i]);
            }

            return new ArrayNode(items);
        }

        public override JsValue Copy(Engine engine)
        {
            var copies = new JsValue[items.Length];
            for (var i = 0; i < copies.Length; i++)
            {
                copies[i] = items[i].Copy(engine);
            }

            var result = new JsArray(engine, copies);
            for (var i = 0; i < copies.Length; i++)
            {
                Frozen(result.DefineOwnProperty(JsNumber.Create(i), new PropertyDescriptor(copies[i], ReadOnly)));
            }

            Frozen(result.DefineOwnProperty(Length, new PropertyDescriptor(JsNumber.Create(copies.Length), PropertyFlag.WritableSet | PropertyFlag.ConfigurableSet)));
            Frozen(result.PreventExtensions());
            return result;
        }
    }
}
