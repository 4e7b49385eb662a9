using RuleMail.Core.Tests.Support;
using RuleMail.Host.Configuration;
using RuleMail.Host.State;

namespace RuleMail.Host.Tests.State;

/// <summary>
/// <c>state:</c> is a SQLite path (relative to the file) or <c>{postgres: {connection_env: VAR}}</c>; anything else is one
/// line with file:line:col; the connection string comes from the environment only and is never shown in an error.
/// </summary>
public sealed class StateConfigTests
{
    [Fact]
    public void A_path_is_the_SQLite_file_relative_to_the_configuration()
    {
        using var dir = new TempDirectory("config");
        var config = Load(dir, "state: data/state.db\n");

        Assert.False(config.State.IsPostgres);
        Assert.Equal(Path.Combine(dir.Path, "data", "state.db"), config.State.Path);
        Assert.Equal(config.State.Path, config.State.ToString());
    }

    [Fact]
    public void Without_state_the_default_SQLite_file_is_beside_the_configuration()
    {
        using var dir = new TempDirectory("config");
        var config = Load(dir, "rules: rules\n");

        Assert.Equal(Path.Combine(dir.Path, ".rulemail", "state.db"), config.State.Path);
    }

    [Fact]
    public void The_postgres_form_names_the_variable_and_the_banner_never_shows_the_connection()
    {
        using var dir = new TempDirectory("config");
        var config = Load(dir, "state:\n  postgres:\n    connection_env: RULEMAIL_PG\ncluster:\n  lease_seconds: 10\n");

        Assert.True(config.State.IsPostgres);
        Assert.Null(config.State.Path);
        Assert.Equal("RULEMAIL_PG", config.State.Postgres!.ConnectionEnv);
        Assert.Equal(TimeSpan.FromSeconds(10), config.Cluster.Lease);
        Assert.Equal("PostgreSQL (connection in $RULEMAIL_PG)", config.State.ToString());
    }

    [Theory]
    [InlineData("state:\n  postgres: {}\n", "2:3", "connection_env")]
    [InlineData("state:\n  postgres:\n    connection_string: Host=x\n", "3:5", "connection_string")]
    [InlineData("state:\n  sqlite: x.db\n", "2:3", "sqlite")]
    [InlineData("state: ''\n", "1:8", "file path")]
    [InlineData("state: [a, b]\n", "1:8", "")]
    public void Anything_else_is_one_line_with_where(string yaml, string where, string says)
    {
        using var dir = new TempDirectory("config");
        File.WriteAllText(dir.File("rulemail.yaml"), yaml);

        var error = Assert.ThrowsAny<RuleMailException>(() => ConfigLoader.Load(dir.File("rulemail.yaml"), dir.Path));

        Assert.Contains($"rulemail.yaml:{where}", error.Message, StringComparison.Ordinal);
        Assert.Contains(says, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("lease_seconds: 1")]
    [InlineData("workers: 0")]
    [InlineData("batch: 1001")]
    public void Cluster_settings_out_of_range_are_refused(string setting)
    {
        using var dir = new TempDirectory("config");
        File.WriteAllText(dir.File("rulemail.yaml"), $"cluster:\n  {setting}\n");

        var error = Assert.Throws<RuleMailException>(() => ConfigLoader.Load(dir.File("rulemail.yaml"), dir.Path));

        Assert.Contains("cluster settings out of range", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unset_connection_variable_is_named_and_a_bad_connection_string_is_never_printed()
    {
        using var dir = new TempDirectory("config");
        var config = Load(dir, "state:\n  postgres:\n    connection_env: RULEMAIL_PG\n");

        var unset = Assert.Throws<RuleMailException>(() => StateStores.ConnectionString(config, _ => null));
        Assert.Contains("RULEMAIL_PG is not set", unset.Message, StringComparison.Ordinal);

        const string Secret = "Host=db;Password=hunter2;Bogus Key=1";
        var bad = Assert.Throws<RuleMailException>(() => StateStores.ConnectionString(config, _ => Secret));
        Assert.Contains("$RULEMAIL_PG: not a PostgreSQL connection string", bad.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_session_of_a_node_is_ended_by_the_server_when_it_idles_in_a_transaction_past_a_lease()
    {
        var limited = StateStores.WithSessionLimits("Host=db;Database=rulemail;Options=-c search_path=rm", TimeSpan.FromSeconds(30));

        var built = new Npgsql.NpgsqlConnectionStringBuilder(limited);
        Assert.Equal("-c search_path=rm -c idle_in_transaction_session_timeout=30000", built.Options);

        // Its few statements are prepared once per connection and kept: a connection back in the pool is not reset.
        Assert.True(built.MaxAutoPrepare > 0);
        Assert.True(built.NoResetOnClose);
    }

    private static RuleMailConfig Load(TempDirectory dir, string yaml)
    {
        File.WriteAllText(dir.File("rulemail.yaml"), yaml);
        return ConfigLoader.Load(dir.File("rulemail.yaml"), dir.Path);
    }
}
