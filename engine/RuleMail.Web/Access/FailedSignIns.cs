using System.Net;
using System.Threading.RateLimiting;

namespace RuleMail.Web.Access;

/// <summary>
/// Limits failed authentications per client address: after <see cref="PermitsPerWindow"/> failures within a minute,
/// that address gets 429 without its token being looked at until the window ends. Tokens have 256 random bits, so
/// guessing is hopeless anyway; this keeps a scanner from filling the logs and the state's lookups. Thread-safe.
/// </summary>
internal sealed class FailedSignIns : IDisposable
{
    public const int PermitsPerWindow = 10;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly PartitionedRateLimiter<IPAddress> _limiter = PartitionedRateLimiter.Create<IPAddress, IPAddress>(
        address => RateLimitPartition.GetFixedWindowLimiter(address, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = PermitsPerWindow,
            Window = Window,
            QueueLimit = 0,
            AutoReplenishment = true,
        }));

    /// <summary>True when this address used up its failures for now.</summary>
    public bool IsBlocked(IPAddress address) => _limiter.GetStatistics(address)?.CurrentAvailablePermits == 0;

    /// <summary>Counts one failure of this address.</summary>
    public void Failed(IPAddress address)
    {
        using var lease = _limiter.AttemptAcquire(address);
    }

    public void Dispose() => _limiter.Dispose();
}
