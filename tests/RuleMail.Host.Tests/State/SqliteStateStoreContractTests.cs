using RuleMail.Core.Tests.Support;
using RuleMail.Host.State;

namespace RuleMail.Host.Tests.State;

/// <summary>The state store contract on SQLite: each state a file of its own in a temp folder.</summary>
public sealed class SqliteStateStoreContractTests : StateStoreContract, IDisposable
{
    private readonly TempDirectory _dir = new("state");
    private int _states;
    private string? _path;

    protected override async Task<IStateStore> OpenEmptyAsync()
    {
        _path = _dir.File($"state{++_states}.db");
        return await SqliteStateStore.OpenAsync(_path, Ct);
    }

    protected override async Task<IStateStore> ReopenAsync() =>
        await SqliteStateStore.OpenAsync(_path ?? throw new InvalidOperationException("no state was opened yet"), Ct);

    public void Dispose() => _dir.Dispose();
}
