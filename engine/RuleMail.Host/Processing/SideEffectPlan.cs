using System.Security.Cryptography;
using System.Text;
using RuleMail.Host.Actions;
using RuleMail.Host.State;

namespace RuleMail.Host.Processing;

/// <summary>An analysis' plan: the side effects its decision asks for, each handler planning its own kind, keyed for exactly once.</summary>
internal static class SideEffectPlan
{
    /// <summary>The side effects in plan order (handlers sorted by <see cref="IActionHandler.Order"/>), of <paramref name="planning"/>'s analysis version.</summary>
    public static List<SideEffect> Build(HostServices services, ActionPlanning planning)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(planning);
        var now = services.Time.GetUtcNow();
        var entry = planning.Entry;
        var plan = new List<SideEffect>();
        foreach (var handler in services.Actions)
        {
            foreach (var action in handler.Plan(planning))
            {
                plan.Add(new SideEffect
                {
                    Timeout = action.Timeout,
                    IdempotencyKey = IdempotencyKey(entry, handler.Kind, action.Target, planning.AnalysisVersion),
                    Account = entry.Account,
                    Folder = entry.Folder,
                    SourceKey = entry.SourceKey,
                    AnalysisVersion = planning.AnalysisVersion,
                    Order = plan.Count,
                    Kind = handler.Kind,
                    Target = action.Target,
                    Payload = action.Payload,
                    State = SideEffectState.Pending,
                    UpdatedAt = now,
                });
            }
        }

        return plan;
    }

    /// <summary>
    /// 32 hex digits of SHA-256 over the message, the kind and the target, and from version 2 on the analysis version:
    /// a retry's webhook is a new call with its own key, while version 1 keys stay what they were before versions
    /// existed, so a state written then keeps its exactly-once.
    /// </summary>
    public static string IdempotencyKey(LedgerEntry entry, SideEffectKind kind, string target, int analysisVersion)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentOutOfRangeException.ThrowIfLessThan(analysisVersion, 1);
        var text = $"{entry.Account}\n{entry.Folder}\n{entry.SourceKey}\n{kind}\n{target}";
        if (analysisVersion > 1)
        {
            text += string.Create(System.Globalization.CultureInfo.InvariantCulture, $"\nanalysis {analysisVersion}");
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32];
    }
}
