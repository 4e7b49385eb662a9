using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace RuleMail.Host.State;

/// <summary>How the SQLite state writes and reads its values: times as ISO-8601 UTC text, tags as a JSON array, nullable columns.</summary>
internal static class SqliteValues
{
    public static uint ReadUInt(SqliteDataReader reader, int ordinal) => checked((uint)reader.GetInt64(ordinal));

    public static uint? ReadNullableUInt(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : ReadUInt(reader, ordinal);

    public static string? ReadString(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static DateTimeOffset? ReadNullableTime(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : ReadTime(reader.GetString(ordinal));

    /// <summary>ISO-8601 in UTC with seven fractional digits: lossless, and text order is time order.</summary>
    public static string WriteTime(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    public static string? WriteTime(DateTimeOffset? time) => time is { } value ? WriteTime(value) : null;

    public static DateTimeOffset ReadTime(string text) =>
        DateTimeOffset.ParseExact(text, "O", CultureInfo.InvariantCulture, DateTimeStyles.None);

    public static string WriteTags(IReadOnlyList<string>? tags) => JsonSerializer.Serialize(tags ?? []);

    public static string[] ReadTags(string json) => JsonSerializer.Deserialize<string[]>(json) ?? [];
}

/// <summary>An enum's values as their lowercase names, both ways; an unknown name in the file is an error.</summary>
internal static class EnumText<T>
    where T : struct, Enum
{
    private static readonly FrozenDictionary<T, string> Names =
        Enum.GetValues<T>().ToFrozenDictionary(value => value, value => value.ToString().ToLowerInvariant());

    private static readonly FrozenDictionary<string, T> Values =
        Names.ToFrozenDictionary(pair => pair.Value, pair => pair.Key, StringComparer.Ordinal);

    public static string Write(T value) =>
        Names.TryGetValue(value, out var name)
            ? name
            : throw new ArgumentOutOfRangeException(nameof(value), value, $"not a {typeof(T).Name}");

    public static T Read(string name) =>
        Values.TryGetValue(name, out var value)
            ? value
            : throw new InvalidDataException($"the state database holds an unknown {typeof(T).Name} '{name}'");
}
