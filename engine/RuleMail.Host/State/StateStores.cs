using RuleMail.Host.Configuration;

namespace RuleMail.Host.State;

/// <summary>Opens the state <c>state:</c> names: the SQLite file of one host, or the PostgreSQL database of a cluster.</summary>
public static class StateStores
{
    /// <summary>
    /// The PostgreSQL connection string from the variable <c>state.postgres.connection_env</c> names.
    /// </summary>
    /// <exception cref="RuleMailException">The variable is not set, or holds no valid connection string (its value is never shown).</exception>
    public static string ConnectionString(RuleMailConfig config, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(environment);
        var variable = config.State.Postgres?.ConnectionEnv ?? throw new InvalidOperationException("the state is not on PostgreSQL");
        var value = environment(variable);
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new RuleMailException(
                $"{config.Path ?? ConfigLoader.DefaultFileName}: state.postgres.connection_env: the environment variable {variable} is not set; put the PostgreSQL connection string there (Host=...;Database=...;Username=...;Password=...)");
        }

        try
        {
            _ = new Npgsql.NpgsqlConnectionStringBuilder(value);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException)
        {
            // Npgsql's text may quote the value, and the value holds the password: name the variable only.
            throw new RuleMailException($"${variable}: not a PostgreSQL connection string (Host=...;Database=...;Username=...;Password=...)", e);
        }

        return value;
    }

    /// <summary>
    /// <paramref name="connectionString"/> with the session settings every connection of a node uses: a session that sits
    /// in an open transaction longer than a lease time is ended by the server. A node that is paused or cut off while
    /// it holds row locks (its fence check, Quartz's trigger lock) would otherwise block the other nodes for as long as
    /// its connection stays open; this way its locks go when its lease does.
    /// </summary>
    /// <remarks>
    /// The statements a node runs are few and run for every message, so they are prepared on each pooled connection
    /// once and kept (<c>Max Auto Prepare</c>), and a connection given back to the pool is not reset: RuleMail's
    /// sessions keep no state of their own (advisory locks are transaction-scoped; the one <c>LISTEN</c> is undone
    /// before its connection goes back). Without these, the server parses and plans each statement anew and runs a
    /// <c>DISCARD ALL</c> for every connection taken from the pool, about ten times a message.
    /// </remarks>
    public static string WithSessionLimits(string connectionString, TimeSpan lease)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        var limit = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"-c idle_in_transaction_session_timeout={(long)lease.TotalMilliseconds}");
        builder.Options = string.IsNullOrWhiteSpace(builder.Options) ? limit : $"{builder.Options} {limit}";
        builder.MaxAutoPrepare = 64;
        builder.NoResetOnClose = true;
        return builder.ConnectionString;
    }

    /// <summary>
    /// Opens the state, creating or upgrading its schema. SQLite with <paramref name="exclusive"/> holds the one-host lock
    /// (a second host on the file is refused); PostgreSQL is shared by any number of nodes.
    /// </summary>
    /// <exception cref="RuleMailException">The state cannot be opened, is held by another host, or has a newer schema.</exception>
    public static async Task<IStateStore> OpenAsync(RuleMailConfig config, Func<string, string?> environment, bool exclusive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.State.IsPostgres)
        {
            var connection = WithSessionLimits(ConnectionString(config, environment), config.Cluster.Lease);
            try
            {
                return await PostgresStateStore.OpenAsync(connection, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException or TimeoutException)
            {
                throw new RuleMailException($"{config.State}: cannot open the state database: {FirstLine(e)}", e);
            }
        }

        var path = config.State.Path!;
        try
        {
            return exclusive
                ? await SqliteStateStore.OpenExclusiveAsync(path, cancellationToken).ConfigureAwait(false)
                : await SqliteStateStore.OpenAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            throw new RuleMailException($"{path}: cannot open the state database: {e.Message}", e);
        }
    }

    private static string FirstLine(Exception e) => e.Message.Split('\n')[0].Trim();
}
