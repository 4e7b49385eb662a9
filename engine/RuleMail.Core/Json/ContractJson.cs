using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace RuleMail.Json;

/// <summary>
/// The one way RuleMail writes and reads its JSON contracts (security result, composer options, <c>check --json</c>,
/// <c>keys list --json</c>, webhook payload, decision): the CLI, the host and the HTTP API give the same bytes for the
/// same value. Non-ASCII text is written as is (readable in a terminal and a ticket), not as <c>\uXXXX</c>.
/// Thread-safe: the options are read-only once built.
/// </summary>
public static class ContractJson
{
    /// <summary>
    /// Compact, snake_case, the generated metadata only: a type that is not a contract is refused
    /// (<see cref="NotSupportedException"/>) rather than serialized by reflection in some shape of its own.
    /// For the HTTP API's serializer this is the options to copy.
    /// </summary>
    public static JsonSerializerOptions Options { get; } = Build(ContractJsonContext.Default, indented: false);

    private static readonly JsonSerializerOptions Indented = Build(ContractJsonContext.Default, indented: true);

    // Contract types still resolve through the generated metadata first; reflection only serves the untyped values.
    private static readonly JsonSerializerOptions Untyped = Build(
        JsonTypeInfoResolver.Combine(ContractJsonContext.Default, new DefaultJsonTypeInfoResolver()), indented: false);

    /// <summary>A contract value as JSON; <paramref name="indented"/> for people (the CLI's <c>--json</c>), compact otherwise.</summary>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not one of the contracts.</exception>
    public static string Serialize<T>(T value, bool indented = false) =>
        JsonSerializer.Serialize(value, TypeInfo<T>(indented ? Indented : Options));

    /// <summary>A contract value read back (e.g. a stored security result); null for the JSON <c>null</c>.</summary>
    /// <exception cref="JsonException">The text is not JSON of that shape.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not one of the contracts.</exception>
    public static T? Deserialize<T>(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return JsonSerializer.Deserialize(json, TypeInfo<T>(Options));
    }

    /// <summary>
    /// An untyped document (dictionaries of values, as the host's webhook summary is still built) with the contracts'
    /// conventions: contract values inside it are written by the generated metadata, other values by reflection.
    /// New documents are records in this folder instead; this goes once no dictionary is left.
    /// </summary>
    public static string SerializeDocument(object? document) =>
        document is null ? "null" : JsonSerializer.Serialize(document, document.GetType(), Untyped);

    private static JsonTypeInfo<T> TypeInfo<T>(JsonSerializerOptions options) =>
        options.TryGetTypeInfo(typeof(T), out var info) && info is JsonTypeInfo<T> typed
            ? typed
            : throw new NotSupportedException($"{typeof(T)} is not a JSON contract (add it to {nameof(ContractJsonContext)})");

    private static JsonSerializerOptions Build(IJsonTypeInfoResolver resolver, bool indented)
    {
        var options = new JsonSerializerOptions(ContractJsonContext.Default.Options)
        {
            TypeInfoResolver = resolver,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            WriteIndented = indented,
        };
        options.MakeReadOnly();
        return options;
    }
}
