using Npgsql;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Host.Tests.Support;

/// <summary>The PostgreSQL the state tests run on: it serves, each database is fresh and apart, it fails loudly when missing, and it goes away.</summary>
[Collection(PostgresTests.Name)]
public sealed class PostgresServerTests(PostgresServer server)
{
    [Fact]
    public async Task The_server_listens_on_loopback_and_each_created_database_is_empty_and_its_own()
    {
        var first = await server.CreateDatabaseAsync();
        var second = await server.CreateDatabaseAsync();

        Assert.NotEqual(first, second);
        Assert.Contains($"Port={server.Port}", first, StringComparison.Ordinal);
        Assert.Equal(0L, await ScalarAsync(first, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public';"));
        await ScalarAsync(first, "CREATE TABLE only_here (id integer);");
        Assert.Equal(1L, await ScalarAsync(first, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public';"));
        Assert.Equal(0L, await ScalarAsync(second, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public';"));
        Assert.Equal("off", await ScalarAsync(first, "SHOW fsync;"));
        Assert.Equal("200", await ScalarAsync(first, "SHOW max_connections;"));
        Assert.Equal("UTF8", await ScalarAsync(first, "SHOW server_encoding;"));
        Assert.Equal(LoopbackPort.Host, await ScalarAsync(first, "SHOW listen_addresses;"));
        Assert.NotEqual("postgres", await ScalarAsync(first, "SELECT current_user;")); // The superuser is RuleMail's, not the system's.
    }

    [Fact]
    public void A_missing_postgresql_program_fails_loudly_with_how_to_install_it()
    {
        using var empty = new TempDirectory("no-postgres");

        var error = Assert.Throws<ExternalToolException>(() => PostgresServer.FindProgram("initdb", [empty.Path, empty.File("missing")]));

        Assert.Contains("initdb is needed", error.Message, StringComparison.Ordinal);
        Assert.Contains("apt-get install postgresql", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("/initdb", PostgresServer.FindProgram("initdb", PostgresServer.SearchDirectories()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_disposed_server_no_longer_listens_and_its_folder_is_gone()
    {
        var other = new PostgresServer();
        await other.InitializeAsync();
        var (port, root) = (other.Port, other.Root);
        Assert.True(LoopbackPort.Accepts(port));

        await other.DisposeAsync();

        Assert.False(other.IsRunning);
        Assert.False(LoopbackPort.Accepts(port));
        Assert.False(Directory.Exists(root));
    }

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
