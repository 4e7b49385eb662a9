using System.Net;

namespace RuleMail.Web.Access;

/// <summary>
/// Limits failed authentications per client (<see cref="ClientKey"/>): after <see cref="PermitsPerWindow"/> failures
/// within <see cref="Window"/>, the client is blocked for <see cref="Window"/> on the host's clock. While it is blocked
/// every request from it with a token gets 429, a correct token too: admitting that would tell a guesser which guess was
/// right. Tokens have 256 random bits, so guessing is hopeless anyway; this keeps a scanner from filling the logs and
/// the state's lookups. Thread-safe.
/// </summary>
internal sealed class FailedSignIns(TimeProvider time)
{
    public const int PermitsPerWindow = 10;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    /// <summary>Past this many clients, the ones whose window and block are over are dropped.</summary>
    private const int PruneAbove = 10_000;

    private readonly Lock _lock = new();
    /// <summary>By <see cref="ClientKey"/>.</summary>
    private readonly Dictionary<IPAddress, Failures> _addresses = [];

    /// <summary>
    /// Who an address counts as: an IPv4 address itself, also when it comes IPv4-mapped (<c>::ffff:1.2.3.4</c>, as a
    /// dual-stack socket reports it); an IPv6 address its /64, the prefix one subscriber gets whole — an attacker has
    /// all of its 2^64 addresses to send from.
    /// </summary>
    public static IPAddress ClientKey(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            return address;
        }

        var prefix = address.GetAddressBytes();
        prefix.AsSpan(8).Clear();
        return new IPAddress(prefix);
    }

    /// <summary>How much longer this address's client is blocked; null when it is not.</summary>
    public TimeSpan? BlockedFor(IPAddress address)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            return _addresses.TryGetValue(ClientKey(address), out var failures) && failures.BlockedUntil > now ? failures.BlockedUntil - now : null;
        }
    }

    /// <summary>Counts one failure of this address's client; the one that uses up its permits starts the block.</summary>
    public void Failed(IPAddress address)
    {
        var now = time.GetUtcNow();
        var client = ClientKey(address);
        lock (_lock)
        {
            if (!_addresses.TryGetValue(client, out var failures) || failures.Ends <= now)
            {
                if (_addresses.Count >= PruneAbove)
                {
                    Prune(now);
                }

                failures = new Failures(now + Window, 0, DateTimeOffset.MinValue);
            }

            var count = failures.Count + 1;
            _addresses[client] = count >= PermitsPerWindow && failures.BlockedUntil <= now
                ? failures with { Count = count, BlockedUntil = now + Window }
                : failures with { Count = count };
        }
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (address, failures) in _addresses)
        {
            if (failures.Ends <= now)
            {
                _addresses.Remove(address);
            }
        }
    }

    /// <param name="WindowEnds">When the window of the first failure counted ends.</param>
    /// <param name="Count">Failures in that window.</param>
    /// <param name="BlockedUntil">When the block ends; in the past when there is none.</param>
    private readonly record struct Failures(DateTimeOffset WindowEnds, int Count, DateTimeOffset BlockedUntil)
    {
        /// <summary>After this, nothing of the address is remembered.</summary>
        public DateTimeOffset Ends => WindowEnds > BlockedUntil ? WindowEnds : BlockedUntil;
    }
}
