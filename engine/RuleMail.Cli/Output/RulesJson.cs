using RuleMail.Rules;

namespace RuleMail.Cli.Output;

/// <summary>Rule traces and decisions as <c>check --json</c> prints them, and as one line for people.</summary>
internal static class RulesJson
{
    /// <summary>Only the keys a decision sets, in the vocabulary's names.</summary>
    public static Dictionary<string, object> Decision(RuleDecision decision)
    {
        var json = new Dictionary<string, object>();
        if (decision.Sign is { } sign)
        {
            json["sign"] = Name(sign);
        }

        if (decision.Encrypt is { } encrypt)
        {
            json["encrypt"] = Name(encrypt);
        }

        if (decision.SecurityType is { } type)
        {
            json["security_type"] = type;
        }

        if (decision.Flag.Count > 0)
        {
            json["flag"] = decision.Flag;
        }

        if (decision.Move is { } move)
        {
            json["move"] = move;
        }

        if (decision.Tag.Count > 0)
        {
            json["tag"] = decision.Tag;
        }

        if (decision.Header.Count > 0)
        {
            json["header"] = decision.Header;
        }

        if (decision.Webhook.Count > 0)
        {
            json["webhook"] = decision.Webhook;
        }

        if (decision.Notify.Count > 0)
        {
            json["notify"] = decision.Notify;
        }

        if (decision.Hold is { } hold)
        {
            json["hold"] = hold;
        }

        if (decision.Stop)
        {
            json["stop"] = true;
        }

        return json;
    }

    public static List<Dictionary<string, object?>> Trace(RuleEvaluation evaluation) =>
    [
        .. evaluation.Trace.Select(r => new Dictionary<string, object?>
        {
            ["name"] = r.Name,
            ["file"] = r.File,
            ["matched"] = r.Matched,
            ["because"] = r.Because,
            ["decision"] = r.Decision is null ? null : Decision(r.Decision),
            ["error"] = r.Error,
        }),
    ];

    /// <summary>A decision in one line: <c>flag security-failed; move Quarantine; stop</c>.</summary>
    public static string Describe(RuleDecision decision)
    {
        var parts = Decision(decision).Select(p => p.Value switch
        {
            true => p.Key,
            string text => $"{p.Key} {text}",
            IEnumerable<KeyValuePair<string, string>> map => $"{p.Key} {string.Join(", ", map.Select(h => $"{h.Key}: {h.Value}"))}",
            IEnumerable<string> list => $"{p.Key} {string.Join(", ", list)}",
            _ => p.Key,
        });
        var text = string.Join("; ", parts);
        return text.Length == 0 ? "nothing" : text;
    }

    private static string Name(Preference preference) => preference switch
    {
        Preference.Required => "required",
        Preference.Preferred => "preferred",
        _ => "never",
    };
}
