using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace RuleMail.Host.Configuration;

/// <summary>
/// <c>state:</c> in <c>rulemail.yaml</c>: either the SQLite file of one host (a path, the embedded default) or
/// <c>{postgres: {connection_env: VAR}}</c>, the PostgreSQL database a cluster of hosts shares. The connection string
/// (with its password) is read from that environment variable, never from the file.
/// </summary>
public sealed class StateConfig : IYamlConvertible
{
    /// <summary>The embedded default: a SQLite file beside the configuration.</summary>
    public const string DefaultPath = ".rulemail/state.db";

    /// <summary>The SQLite file (absolute once loaded); null when the state is on PostgreSQL.</summary>
    public string? Path { get; set; } = DefaultPath;

    /// <summary>The PostgreSQL database; null for SQLite.</summary>
    public PostgresStateConfig? Postgres { get; set; }

    /// <summary>True when the state is on PostgreSQL: the host then runs as a node of a cluster.</summary>
    [YamlIgnore]
    public bool IsPostgres => Postgres is not null;

    /// <summary>A SQLite state file.</summary>
    public static implicit operator StateConfig(string path) => FromPath(path);

    public static StateConfig FromPath(string path) => new() { Path = path };

    /// <summary>How the state is named in banners and errors: the SQLite path, or the PostgreSQL variable (never its value).</summary>
    public override string ToString() => Postgres is { } pg ? $"PostgreSQL (connection in ${pg.ConnectionEnv})" : Path ?? string.Empty;

    void IYamlConvertible.Read(IParser parser, Type expectedType, ObjectDeserializer nestedObjectDeserializer)
    {
        if (parser.Accept<Scalar>(out var scalar))
        {
            parser.MoveNext();
            if (string.IsNullOrWhiteSpace(scalar.Value))
            {
                throw new YamlException(scalar.Start, scalar.End, "state must be a file path or {postgres: {connection_env: VARIABLE}}");
            }

            Path = scalar.Value;
            Postgres = null;
            return;
        }

        var start = parser.Current?.Start ?? Mark.Empty;
        var end = parser.Current?.End ?? Mark.Empty;
        var form = (StateForm?)nestedObjectDeserializer(typeof(StateForm));
        if (form?.Postgres is not { } postgres)
        {
            throw new YamlException(start, end, "state must be a file path or {postgres: {connection_env: VARIABLE}}");
        }

        if (string.IsNullOrWhiteSpace(postgres.ConnectionEnv))
        {
            throw new YamlException(start, end,
                "state.postgres needs connection_env, the environment variable holding the connection string (it never goes in this file)");
        }

        Path = null;
        Postgres = postgres;
    }

    void IYamlConvertible.Write(IEmitter emitter, ObjectSerializer nestedObjectSerializer) =>
        nestedObjectSerializer(Postgres is null ? Path : new StateForm { Postgres = Postgres });

    /// <summary>The mapping form of <c>state:</c>.</summary>
    private sealed class StateForm
    {
        public PostgresStateConfig? Postgres { get; set; }
    }
}

/// <summary><c>state: {postgres: ...}</c>.</summary>
public sealed class PostgresStateConfig
{
    /// <summary>The environment variable holding the Npgsql connection string (<c>Host=...;Database=...;Username=...;Password=...</c>).</summary>
    public string? ConnectionEnv { get; set; }
}
