using System.Collections.Concurrent;

namespace RuleMail.Web.Ui;

/// <summary>
/// The UI sessions that were signed out, so a copy of a signed-out cookie opens nothing. The cookies' keys live only
/// in this process (<see cref="UiAccess"/>), so a session can outlive neither a restart nor this list: the list is
/// complete without being stored. An entry is kept as long as its cookie could still be presented (its lifetime
/// after the sign-out), then dropped. Its size is bounded by <see cref="SignInPace"/> (so many sign-ins per token and
/// minute); the list is swept for expired entries whenever it has doubled since the last sweep, so a sign-out costs
/// O(1) amortized however long the list is. Thread-safe.
/// </summary>
internal sealed class EndedSessions(TimeProvider time)
{
    private const int FirstSweepAt = 1024;

    private readonly ConcurrentDictionary<string, DateTimeOffset> _ended = new(StringComparer.Ordinal);
    private readonly Lock _sweep = new();
    private int _sweepAt = FirstSweepAt;

    /// <summary>How many signed-out sessions are remembered now.</summary>
    public int Count => _ended.Count;

    /// <summary>Ends session <paramref name="id"/> for good.</summary>
    public void End(string id)
    {
        var now = time.GetUtcNow();
        _ended[id] = now + UiAccess.SessionLifetime;
        if (_ended.Count < Volatile.Read(ref _sweepAt))
        {
            return;
        }

        lock (_sweep)
        {
            foreach (var (old, until) in _ended)
            {
                if (until < now)
                {
                    _ended.TryRemove(old, out _);
                }
            }

            _sweepAt = Math.Max(FirstSweepAt, _ended.Count * 2);
        }
    }

    /// <summary>True when session <paramref name="id"/> was signed out.</summary>
    public bool IsEnded(string id) => _ended.ContainsKey(id);
}
