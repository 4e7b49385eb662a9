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

    [Theory]
    [InlineData("192.0.2.7", "192.0.2.7")]
    [InlineData("::ffff:192.0.2.7", "192.0.2.7")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::")]
    [InlineData("fe80::1%2", "fe80::")]
    [InlineData("::1", "::")]
    public void An_ipv4_mapped_address_is_its_ipv4_address_and_an_ipv6_address_its_64_prefix(string address, string key)
    {
        Assert.Equal(IPAddress.Parse(key), FailedSignIns.ClientKey(IPAddress.Parse(address)));
    }

    [Fact]
    public void Failures_from_one_64_prefix_or_from_an_address_in_either_spelling_add_up()
    {
        for (var i = 0; i < FailedSignIns.PermitsPerWindow; i++)
        {
            Fail(IPAddress.Parse($"2001:db8:1:2::{i + 1:x}"), 1);
            Fail(IPAddress.Parse(i % 2 == 0 ? "192.0.2.7" : "::ffff:192.0.2.7"), 1);
        }

        Assert.NotNull(_failures.BlockedFor(IPAddress.Parse("2001:db8:1:2:ffff::1")));
        Assert.NotNull(_failures.BlockedFor(IPAddress.Parse("::ffff:192.0.2.7")));
        Assert.NotNull(_failures.BlockedFor(Client));
        Assert.Null(_failures.BlockedFor(IPAddress.Parse("2001:db8:1:3::1")));
        Assert.Null(_failures.BlockedFor(IPAddress.Parse("192.0.2.8")));
    }

    private void Fail(IPAddress address, int times)
    {
        for (var i = 0; i < times; i++)
        {
            _failures.Failed(address);
        }
    }
}
