using System.Text.Json;
using RuleMail.Host.State;
using RuleMail.Json;

namespace RuleMail.Host.Processing;

/// <summary>
/// The retry contract (<see cref="RetryDocument"/>) of what retries did: one builder, so <c>rulemail retry --json</c>
/// and the HTTP API's retry answer with the same JSON for the same retry.
/// </summary>
public static class RetryDocuments
{
    /// <summary>The document of <paramref name="reports"/> (one per account judged), with what was asked for and not found.</summary>
    public static RetryDocument From(IReadOnlyList<RetryReport> reports, IReadOnlyList<string> notFound)
    {
        ArgumentNullException.ThrowIfNull(reports);
        ArgumentNullException.ThrowIfNull(notFound);
        return new RetryDocument(
            [.. reports.Select(r => new RetryAccountDocument(r.Account, r.Source, r.Error))],
            [.. reports.SelectMany(r => r.Messages).Select(Message)],
            notFound,
            new RetrySummaryDocument(
                Judged: reports.Sum(r => r.Messages.Count - r.Count(RetryOutcome.Skipped)),
                Changed: reports.Sum(r => r.Count(RetryOutcome.Changed)),
                Unchanged: reports.Sum(r => r.Count(RetryOutcome.Unchanged)),
                Skipped: reports.Sum(r => r.Count(RetryOutcome.Skipped)),
                Failed: reports.Sum(r => r.Count(RetryOutcome.Failed)) + notFound.Count));
    }

    /// <summary>A stored contract value (a decision, a security result) as JSON to pass on as it is; null for none.</summary>
    public static JsonElement? Stored(string? json)
    {
        if (json is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    private static RetryMessageDocument Message(RetriedMessage m) => new(
        LedgerId.Format(m.Account, m.Folder, m.SourceKey),
        m.Account,
        m.Folder,
        m.SourceKey,
        m.Subject,
        m.From,
        m.Outcome.ToString().ToLowerInvariant(),
        new BeforeAfter<int?>(m.PreviousVersion, m.Version),
        new BeforeAfter<RuleMail.Crypto.SecurityResult?>(m.SecurityBefore, m.SecurityAfter),
        new BeforeAfter<JsonElement?>(Stored(m.DecisionBeforeJson), Stored(m.DecisionAfterJson)),
        m.Location is { } at ? new LedgerLocationDocument(at.Folder, at.Key) : null,
        m.Actions,
        m.State?.ToString().ToLowerInvariant(),
        m.Reason,
        m.NextAttempt);
}
