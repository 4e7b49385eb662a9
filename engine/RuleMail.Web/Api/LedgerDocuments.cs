using System.Text.Json;
using RuleMail.Host.Processing;
using RuleMail.Host.State;
using RuleMail.Json;

namespace RuleMail.Web.Api;

/// <summary>The ledger's contracts (<see cref="LedgerMessageDocument"/> and friends) of what the state store holds.</summary>
internal static class LedgerDocuments
{
    /// <summary>The entry as the list shows it, with the side effects of its current analysis.</summary>
    /// <param name="effects">The message's side effects of every analysis (those of other versions are left out).</param>
    public static LedgerMessageDocument Message(LedgerEntry entry, IEnumerable<SideEffect> effects)
    {
        var security = RetryDocuments.Stored(entry.SecurityJson);
        var location = entry.Location ?? MessageLocation.FetchedPlace(entry);
        return new LedgerMessageDocument(
            LedgerId.Of(entry),
            entry.Account,
            entry.Folder,
            entry.SourceKey,
            entry.MessageId,
            entry.Subject,
            entry.From,
            entry.FirstSeen,
            entry.UpdatedAt,
            entry.State.ToString().ToLowerInvariant(),
            entry.AnalysisVersion is null ? [] : LedgerFilter.Words(security),
            entry.Attempts,
            entry.NextAttempt,
            entry.Error,
            entry.AnalysisVersion,
            entry.AnalysisVersion is null ? null : security,
            entry.AnalysisVersion is null ? null : Decision(entry.DecisionJson),
            entry.Tags,
            new LedgerLocationDocument(location.Folder, location.Key),
            [.. effects.Where(e => e.AnalysisVersion == entry.AnalysisVersion).Select(Action)]);
    }

    /// <summary>One analysis with the side effects it planned.</summary>
    public static LedgerAnalysisDocument Analysis(MessageAnalysis analysis, IEnumerable<SideEffect> effects) => new(
        analysis.Version,
        analysis.AnalysedAt,
        analysis.Trigger.ToString().ToLowerInvariant(),
        RetryDocuments.Stored(analysis.SecurityJson) ?? default,
        Decision(analysis.DecisionJson) ?? default,
        analysis.Tags,
        analysis.SecurityFailed,
        [.. effects.Where(e => e.AnalysisVersion == analysis.Version).Select(Action)]);

    /// <summary>The stored decision, with each webhook's URL redacted as its action's target is.</summary>
    private static JsonElement? Decision(string? json)
    {
        if (json is null || ContractJson.Deserialize<DecisionDocument>(json) is not { Webhook.Count: > 0 } decision)
        {
            return RetryDocuments.Stored(json);
        }

        return RetryDocuments.Stored(ContractJson.Serialize(decision.Redacted()));
    }

    /// <summary>One side effect; a webhook's URL is redacted (its user info, path and query may hold credentials).</summary>
    private static LedgerActionDocument Action(SideEffect effect) => new(
        effect.AnalysisVersion,
        JsonNamingPolicy.SnakeCaseLower.ConvertName(effect.Kind.ToString()),
        effect.Kind == SideEffectKind.Webhook ? WebhookTarget.Redacted(effect.Target) : effect.Target,
        effect.State.ToString().ToLowerInvariant(),
        effect.Attempts,
        effect.Detail,
        effect.UpdatedAt);
}
