using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Scheduling;

/// <summary>What a host process opens before it runs anything.</summary>
public sealed class HostRuntimeTests : IDisposable
{
    private readonly HostHarness _harness = HostHarness.Create();

    [Fact]
    public async Task A_second_host_on_the_same_state_is_refused_until_the_first_is_gone()
    {
        var first = await _harness.OpenAsync();

        var refused = await Assert.ThrowsAsync<StateInUseException>(() => _harness.OpenAsync());
        await first.DisposeAsync();
        await using var second = await _harness.OpenAsync();

        Assert.Contains("another rulemail run is using this state", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_password_variable_stops_the_host_before_it_starts()
    {
        _harness.Accounts.Add(new Configuration.AccountConfig
        {
            Name = "support",
            Address = "support@rulemail.test",
            Fetch = new Configuration.FetchConfig
            {
                Imap = new Configuration.ServerConfig { Host = "127.0.0.1", Port = 143, Security = "none", User = "support", PasswordEnv = "NOT_SET_ANYWHERE" },
            },
        });

        var refused = await Assert.ThrowsAsync<RuleMailException>(() => _harness.OpenAsync());

        Assert.Equal("imap 127.0.0.1:143: the password variable NOT_SET_ANYWHERE is not set", refused.Message);
        Assert.False(File.Exists(_harness.StatePath));
    }

    public void Dispose() => _harness.Dispose();
}
