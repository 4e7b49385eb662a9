using RuleMail.Host.Tests.Support;

namespace RuleMail.Web.Tests.Support;

/// <summary>
/// One running service shared by a test class whose tests only ask questions (options, check, compose): starting
/// the service unlocks the sample's private keys, which is the slow part. A class that changes the state, the keys
/// or the rules starts its own <see cref="WebHarness"/> per test instead.
/// </summary>
public class WebFixture : IAsyncLifetime
{
    private WebHarness? _web;

    internal HostHarness Host { get; } = HostHarness.Create();

    internal WebHarness Web => _web ?? throw new InvalidOperationException("the service has not started");

    public async Task InitializeAsync()
    {
        Prepare(Host);
        _web = await WebHarness.StartAsync(Host, Configure);
    }

    public async Task DisposeAsync()
    {
        if (_web is not null)
        {
            await _web.DisposeAsync();
        }

        Host.Dispose();
    }

    /// <summary>Adds the class's rules or keys before the service starts.</summary>
    internal virtual void Prepare(HostHarness host)
    {
    }

    /// <summary>Changes the configuration before the service starts.</summary>
    internal virtual void Configure(RuleMail.Host.Configuration.RuleMailConfig config)
    {
    }
}
