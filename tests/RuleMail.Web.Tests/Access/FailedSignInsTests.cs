using System.Net;
using Microsoft.Extensions.Time.Testing;
using RuleMail.Web.Access;

namespace RuleMail.Web.Tests.Access;

/// <summary>The failed sign-in limiter on a clock the test moves: when an address is blocked, for how long, and what counts together.</summary>
public sealed class FailedSignInsTests
{
    private static readonly IPAddress Client = IPAddress.Parse("192.0.2.7");
    private readonly FakeTimeProvider _time = new();
    private readonly FailedSignIns _failures;

    public FailedSignInsTests() => _failures = new FailedSignIns(_time);

    [Fact]
    public void The_failure_that_uses_up_the_permits_blocks_the_address_for_a_window_on_the_clock()
    {
        Fail(Client, FailedSignIns.PermitsPerWindow - 1);
        Assert.Null(_failures.BlockedFor(Client));

        Fail(Client, 1);
        Assert.Equal(FailedSignIns.Window, _failures.BlockedFor(Client));

        _time.Advance(TimeSpan.FromSeconds(45));
        Assert.Equal(TimeSpan.FromSeconds(15), _failures.BlockedFor(Client));
        _time.Advance(TimeSpan.FromSeconds(15));
        Assert.Null(_failures.BlockedFor(Client));
        Fail(Client, 1);
        Assert.Null(_failures.BlockedFor(Client)); // Counting starts again.
    }

    [Fact]
    public void Failures_further_apart_than_a_window_do_not_add_up()
    {
        Fail(Client, FailedSignIns.PermitsPerWindow - 1);
        _time.Advance(FailedSignIns.Window);

        Fail(Client, FailedSignIns.PermitsPerWindow - 1);

        Assert.Null(_failures.BlockedFor(Client));
    }

    [Fact]
    public void Failures_that_come_in_while_blocked_do_not_make_the_block_longer()
    {
        Fail(Client, FailedSignIns.PermitsPerWindow);
        _time.Advance(TimeSpan.FromSeconds(30));

        Fail(Client, 5);

        Assert.Equal(TimeSpan.FromSeconds(30), _failures.BlockedFor(Client));
    }

    private void Fail(IPAddress address, int times)
    {
        for (var i = 0; i < times; i++)
        {
            _failures.Failed(address);
        }
    }
}
