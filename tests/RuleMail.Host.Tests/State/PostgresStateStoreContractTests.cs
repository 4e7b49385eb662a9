using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.State;

/// <summary>The state store contract on PostgreSQL: each state a database of its own on the test run's server.</summary>
[Collection(PostgresTests.Name)]
public sealed class PostgresStateStoreContractTests(PostgresServer server) : StateStoreContract
{
    private string? _connectionString;

    protected override async Task<IStateStore> OpenEmptyAsync()
    {
        _connectionString = await server.CreateDatabaseAsync();
        return await PostgresStateStore.OpenAsync(_connectionString, Ct);
    }

    protected override async Task<IStateStore> ReopenAsync() =>
        await PostgresStateStore.OpenAsync(_connectionString ?? throw new InvalidOperationException("no state was opened yet"), Ct);
}
