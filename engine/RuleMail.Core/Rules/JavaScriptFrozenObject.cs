using Jint;
using Jint.Native;
using Jint.Native.Object;
using Jint.Runtime;
using Jint.Runtime.Descriptors;

namespace RuleMail.Rules;

/// <summary>
/// One object of a JavaScript rule's frozen copy of the message (<see cref="JavaScriptMessage"/>), made in one
/// engine. It answers Jint's own-property questions from the message's shared, immutable
/// <see cref="JavaScriptMessage.ObjectNode"/> and makes a nested object or array only when the script first
/// reads it, so a rule pays for the parts of the message it looks at, not for a copy of all of it.
/// </summary>
/// <remarks>
/// <para>
/// It is exactly as frozen as a plain object after <c>Object.freeze</c>: not extensible, every own property an
/// enumerable data property that is neither writable nor configurable, keys in the order an ordinary object
/// lists them (array indices ascending, then the others in the model's order). Every write, definition,
/// deletion or prototype change is refused the way an ordinary frozen object refuses it (a TypeError in strict
/// mode), since each goes through the descriptor this object reports and the validation Jint applies to
/// ordinary objects. Nothing can be stored in it: there is no backing store a write could reach.
/// </para>
/// <para>
/// Jint's host-object contract (<c>GetOwnProperty</c>, <c>TryGetOwnPropertyValue</c>, <c>ProbeOwnProperty</c>,
/// <c>GetOwnPropertyKeys</c> agree for every key) is checked by the tests with Jint's
/// <c>Jint.EnableHostContractVerification</c> switch on. A value, once read, is kept, so the same nested object
/// comes back each time (<c>message.from === message.from</c>).
/// </para>
/// <para>Not thread-safe; belongs to one engine, which one worker uses at a time.</para>
/// </remarks>
internal sealed class JavaScriptFrozenObject : ObjectInstance
{
    /// <summary>What <c>Object.freeze</c> leaves: enumerable, not writable, not configurable.</summary>
    internal const PropertyFlag Frozen = PropertyFlag.Enumerable | PropertyFlag.WritableSet | PropertyFlag.ConfigurableSet;

    private readonly JavaScriptMessage.ObjectNode _node;
    private readonly JsValue?[] _values;
    private PropertyDescriptor?[]? _descriptors;

    public JavaScriptFrozenObject(Engine engine, JavaScriptMessage.ObjectNode node) : base(engine)
    {
        _node = node;
        _values = node.Count == 0 ? [] : new JsValue?[node.Count];
        PreventExtensions();
    }

    public override PropertyDescriptor GetOwnProperty(JsValue property)
    {
        var index = IndexOf(property);
        if (index < 0)
        {
            return PropertyDescriptor.Undefined;
        }

        _descriptors ??= new PropertyDescriptor?[_values.Length];
        return _descriptors[index] ??= new PropertyDescriptor(ValueAt(index), Frozen);
    }

    protected override bool TryGetOwnPropertyValue(JsValue property, JsValue receiver, out JsValue value)
    {
        var index = IndexOf(property);
        if (index < 0)
        {
            value = Undefined;
            return false;
        }

        value = ValueAt(index);
        return true;
    }

    protected override OwnPropertyProbe ProbeOwnProperty(JsValue property) =>
        IndexOf(property) < 0 ? OwnPropertyProbe.Missing : OwnPropertyProbe.Enumerable;

    public override List<JsValue> GetOwnPropertyKeys(Types types = Types.String | Types.Symbol)
    {
        // A new list each time: callers may change what they get. The keys themselves are shared strings.
        return (types & Types.String) == Types.Empty ? [] : [.. _node.OwnKeys];
    }

    public override IEnumerable<KeyValuePair<JsValue, PropertyDescriptor>> GetOwnProperties()
    {
        foreach (var key in _node.OwnKeys)
        {
            yield return new KeyValuePair<JsValue, PropertyDescriptor>(key, GetOwnProperty(key));
        }
    }

    /// <summary>
    /// What an ordinary object does (ValidateAndApplyPropertyDescriptor), without the apply: a definition that
    /// changes nothing succeeds, every other one fails, and nothing is stored either way.
    /// </summary>
    public override bool DefineOwnProperty(JsValue property, PropertyDescriptor desc) =>
        ValidateAndApplyPropertyDescriptor(null, property, extensible: false, desc, GetOwnProperty(property));

    /// <summary>Every own property is non-configurable, so only a property it does not have can be "deleted".</summary>
    public override bool Delete(JsValue property) => IndexOf(property) < 0;

    public override bool PreventExtensions()
    {
        base.PreventExtensions();
        return true;
    }

    /// <summary>Never reached through the methods above; refused so no path in Jint can store into a frozen object.</summary>
    protected override void SetOwnProperty(JsValue property, PropertyDescriptor desc) =>
        throw new InvalidOperationException("the message is frozen");

    /// <inheritdoc cref="SetOwnProperty"/>
    public override void RemoveOwnProperty(JsValue property) =>
        throw new InvalidOperationException("the message is frozen");

    private JsValue ValueAt(int index) => _values[index] ??= _node.Values[index].Copy(_engine);

    private int IndexOf(JsValue property)
    {
        if (property is JsString text)
        {
            return _node.IndexOf(text.ToString());
        }

        var key = TypeConverter.ToPropertyKey(property);
        return key.IsSymbol() ? -1 : _node.IndexOf(TypeConverter.ToString(key));
    }
}
