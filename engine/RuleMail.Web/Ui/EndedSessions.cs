using System.Collections.Concurrent;

namespace RuleMail.Web.Ui;

/// <summary>
/// The UI sessions that were signed out, so a copy of a signed-out cookie opens nothing. The cookies' keys live only
/// in this process (<see cref="UiAccess"/>), so a session can outlive neither a restart nor this list: the list is
/// complete without being stored. An entry is kept as long as its cookie could still be presented (its lifetime
/// after the sign-out), then dropped. Thread-safe.
/// </summary>
internal sealed class EndedSessions(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _ended = new(StringComparer.Ordinal);

    /// <summary>Ends session <paramref name="id"/> for good.</summary>
    public void End(string id)
    {
        var now = time.GetUtcNow();
        _ended[id] = now + UiAccess.SessionLifetime;
        foreach (var (old, until) in _ended)
        {
            if (until < now)
            {
                _ended.TryRemove(old, out _);
            }
        }
    }

    /// <summary>True when session <paramref name="id"/> was signed out.</summary>
    public bool IsEnded(string id) => _ended.ContainsKey(id);
}
