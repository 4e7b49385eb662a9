namespace RuleMail.Rules;

/// <summary>A merged decision in the vocabulary's names: as JSON (ledger, webhooks, <c>check --json</c>) and as one line for people.</summary>
public static class DecisionJson
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
            // A plain URL stays a string (the shape every reader knows); one with settings is shown as its map.
            json["webhook"] = decision.WebhookOptions.Count == 0
                ? decision.Webhook
                : decision.Webhook.Select(url => decision.WebhookOptions.TryGetValue(url, out var options) && options.Timeout is { } timeout
                    ? (object)new Dictionary<string, string> { ["url"] = url, ["timeout"] = Duration(timeout) }
                    : url).ToList();
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

    /// <summary>A decision in one line: <c>flag security-failed; move Quarantine; stop</c>.</summary>
    public static string Describe(RuleDecision decision)
    {
        var parts = Decision(decision).Select(p => p.Value switch
        {
            true => p.Key,
            string text => $"{p.Key} {text}",
            IEnumerable<KeyValuePair<string, string>> map => $"{p.Key} {string.Join(", ", map.Select(h => $"{h.Key}: {h.Value}"))}",
            IEnumerable<string> list => $"{p.Key} {string.Join(", ", list)}",
            IEnumerable<object> list => $"{p.Key} {string.Join(", ", list.Select(i => i is Dictionary<string, string> m ? $"{m["url"]} (timeout {m["timeout"]})" : i.ToString()))}",
            _ => p.Key,
        });
        var text = string.Join("; ", parts);
        return text.Length == 0 ? "nothing" : text;
    }

    /// <summary>A timeout as a rule writes it: <c>20s</c>, <c>1500ms</c>.</summary>
    public static string Duration(TimeSpan timeout) =>
        timeout.Milliseconds == 0
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{(long)timeout.TotalSeconds}s")
            : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{(long)timeout.TotalMilliseconds}ms");

    private static string Name(Preference preference) => preference switch
    {
        Preference.Required => "required",
        Preference.Preferred => "preferred",
        _ => "never",
    };
}
