using RuleMail.Host.State;

namespace RuleMail.Host.Actions;

/// <summary>
/// What the side effects of a message's earlier analyses left on it, which a retry's plan starts from: the folder the
/// message is in now and the keywords they set (and no later analysis removed).
/// </summary>
/// <param name="Folder">Where the message is now (the fetched folder, or wherever a move put it).</param>
/// <param name="Keywords">Keywords set by earlier analyses and still set, compared as IMAP does (case-insensitively).</param>
internal sealed record EarlierOutcome(string Folder, IReadOnlySet<string> Keywords)
{
    /// <summary>From a message's side effects of every earlier analysis, in their order (<see cref="IStateStore.SideEffectsAsync"/>).</summary>
    public static EarlierOutcome From(LedgerEntry entry, IEnumerable<SideEffect> effects)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(effects);
        var keywords = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var effect in effects.Where(e => e.State == SideEffectState.Done))
        {
            if (effect.Kind == SideEffectKind.Keyword)
            {
                keywords.Add(effect.Target);
            }
            else if (effect.Kind == SideEffectKind.RemoveKeyword)
            {
                keywords.Remove(effect.Target);
            }
        }

        return new EarlierOutcome((entry.Location ?? MessageLocation.FetchedPlace(entry)).Folder, keywords);
    }
}
