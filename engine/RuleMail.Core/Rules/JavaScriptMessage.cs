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
/// Thread-safe and immutable. Walking the <see cref="JsonNode"/> tree (kinds, numbers, strings, key order) is
/// done once per message here instead of once per rule. The strings and numbers are shared by the copies of all
/// engines: Jint's primitives hold no engine and cannot change (Jint shares its own, such as the empty string,
/// between engines). Objects, arrays and property descriptors belong to one engine each.
/// </para>
/// <para>
/// A copy is made as the script reads it: the root is one <see cref="JavaScriptFrozenObject"/> that answers from
/// the shared tree, and each nested object or array is made, frozen, the first time the script reads it, so a
/// rule that looks at the sender and the subject never pays for the headers. An object is as frozen as
/// <c>Object.freeze</c> leaves one (<see cref="JavaScriptFrozenObject"/> says how); an array is a real array,
/// made in C# with read-only, non-configurable elements and length and then made non-extensible (calling the
/// engine's own <c>Object.freeze</c> for it cost more than making it). Before, each engine got an eager copy of
/// the whole tree for every message (about 60 objects and descriptors for a small message), which was most of
/// what ten rules cost beyond running their scripts.
/// </para>
/// <para>
/// What is made while the script runs is counted against the call's memory and time limits, like anything the
/// script makes; it is bounded by the size of the model.
/// </para>
/// </remarks>
internal sealed class JavaScriptMessage
{
    private static readonly JsString Length = new("length");

    private readonly ObjectNode _root;

    private JavaScriptMessage(ObjectNode root) => _root = root;

    public static JavaScriptMessage From(JsonObject root)
    {
        ArgumentNullException.ThrowIfNull(root);
        return new JavaScriptMessage(ObjectNode.From(root));
    }

    /// <summary>
    /// A new frozen copy in <paramref name="engine"/>, made as it is read; making it runs no script (so no script
    /// can change how it is made).
    /// </summary>
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

    /// <summary>An array index as an ordinary object's key order knows it: a canonical decimal below 2^32 - 1.</summary>
    private static bool IsArrayIndex(string name, out uint index)
    {
        index = 0;
        if (name.Length == 0 || name.Length > 10 || (name[0] == '0' && name.Length > 1))
        {
            return false;
        }

        ulong value = 0;
        foreach (var c in name)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            value = (value * 10) + (ulong)(c - '0');
        }

        if (value >= uint.MaxValue)
        {
            return false;
        }

        index = (uint)value;
        return true;
    }

    /// <summary>A part of the model, shared by every engine's copy of one message.</summary>
    internal abstract class Node
    {
        /// <summary>The value in <paramref name="engine"/>: the shared primitive, or a new frozen object or array.</summary>
        public abstract JsValue Copy(Engine engine);
    }

    private sealed class PrimitiveNode(JsValue value) : Node
    {
        public static readonly PrimitiveNode Null = new(JsValue.Null);

        public override JsValue Copy(Engine engine) => value;
    }

    /// <summary>
    /// An object of the model: its names in the model's order, their values, and its keys in the order an
    /// ordinary object lists them (<see cref="OwnKeys"/>); each engine sees it as a <see cref="JavaScriptFrozenObject"/>.
    /// </summary>
    internal sealed class ObjectNode : Node
    {
        /// <summary>Up to this many names are found by comparing each; more (a message's headers, say) get an index.</summary>
        private const int ScanLimit = 8;

        private readonly string[] _names;
        private readonly Dictionary<string, int>? _index;

        private ObjectNode(string[] names, Node[] values, JsString[] ownKeys)
        {
            _names = names;
            Values = values;
            OwnKeys = ownKeys;
            if (names.Length > ScanLimit)
            {
                _index = new Dictionary<string, int>(names.Length, StringComparer.Ordinal);
                for (var i = 0; i < names.Length; i++)
                {
                    _index[names[i]] = i;
                }
            }
        }

        public int Count => _names.Length;

        /// <summary>The values, in the order of the names.</summary>
        public Node[] Values { get; }

        /// <summary>The names as an ordinary object orders its own keys: array indices ascending, then the rest as added.</summary>
        public JsString[] OwnKeys { get; }

        public static ObjectNode From(JsonObject obj)
        {
            var names = new string[obj.Count];
            var values = new Node[obj.Count];
            var keys = new JsString[obj.Count];
            List<(uint Index, JsString Key)>? indices = null;
            var i = 0;
            var k = 0;
            foreach (var (name, value) in obj)
            {
                names[i] = name;
                values[i] = Read(value);
                var key = new JsString(name);
                if (IsArrayIndex(name, out var index))
                {
                    (indices ??= []).Add((index, key));
                }
                else
                {
                    keys[k++] = key;
                }

                i++;
            }

            if (indices is not null)
            {
                indices.Sort((a, b) => a.Index.CompareTo(b.Index));
                Array.Copy(keys, 0, keys, indices.Count, k);
                for (var j = 0; j < indices.Count; j++)
                {
                    keys[j] = indices[j].Key;
                }
            }

            return new ObjectNode(names, values, keys);
        }

        /// <summary>The position of <paramref name="name"/> among the names, or -1.</summary>
        public int IndexOf(string name)
        {
            if (_index is not null)
            {
                return _index.TryGetValue(name, out var found) ? found : -1;
            }

            var names = _names;
            for (var i = 0; i < names.Length; i++)
            {
                if (string.Equals(names[i], name, StringComparison.Ordinal))
                {
                    return i;
                }
            }

            return -1;
        }

        public override JsValue Copy(Engine engine) => new JavaScriptFrozenObject(engine, this);
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
                Frozen(result.DefineOwnProperty(JsNumber.Create(i), new PropertyDescriptor(copies[i], JavaScriptFrozenObject.Frozen)));
            }

            Frozen(result.DefineOwnProperty(Length, new PropertyDescriptor(JsNumber.Create(copies.Length), PropertyFlag.WritableSet | PropertyFlag.ConfigurableSet)));
            Frozen(result.PreventExtensions());
            return result;
        }
    }
}
