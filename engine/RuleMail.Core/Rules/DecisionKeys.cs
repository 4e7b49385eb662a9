using System.Text.RegularExpressions;

namespace RuleMail.Rules;

/// <summary>
/// Reads a decision from plain values (what a YAML <c>then:</c> map or a JavaScript result object holds:
/// strings, booleans, lists of strings, maps of strings) and checks it against the vocabulary. Problems are
/// reported per key so the caller can say where.
/// </summary>
internal static partial class DecisionKeys
{
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        "sign", "encrypt", "security_type", "flag", "move", "tag", "header", "webhook", "notify", "hold", "stop",
    };

    /// <summary>Builds the decision; <paramref name="problems"/> gets (key, message) for every bad entry, which is then left out.</summary>
    public static RuleDecision Read(IEnumerable<KeyValuePair<string, object?>> values, List<(string Key, string Message)> problems)
    {
        var decision = new RuleDecision();
        foreach (var (key, value) in values)
        {
            try
            {
                decision = key switch
                {
                    "sign" => decision with { Sign = Preference(value) },
                    "encrypt" => decision with { Encrypt = Preference(value) },
                    "security_type" => decision with { SecurityType = TypeOf(value) },
                    "flag" => decision with { Flag = Keywords(value) },
                    "move" => decision with { Move = Text(value, "a folder name") },
                    "tag" => decision with { Tag = Texts(value) },
                    "header" => decision with { Header = Headers(value) },
                    "webhook" => Webhooks(decision, value, problems),
                    "notify" => decision with { Notify = [.. Texts(value).Select(Address)] },
                    "hold" => decision with { Hold = Text(value, "a reason") },
                    "stop" => decision with { Stop = value is bool stop ? stop : throw new FormatException("stop takes true or false") },
                    _ => throw new FormatException($"unknown decision '{key}' (known: {string.Join(", ", All.Order(StringComparer.Ordinal))})"),
                };
            }
            catch (FormatException e)
            {
                problems.Add((key, e.Message));
            }
        }

        return decision;
    }

    private static Preference Preference(object? value) => value switch
    {
        "required" => Rules.Preference.Required,
        "preferred" => Rules.Preference.Preferred,
        "never" => Rules.Preference.Never,
        _ => throw new FormatException($"expected required, preferred or never, not {Show(value)}"),
    };

    private static Crypto.SecurityType TypeOf(object? value) =>
        value is string text && Crypto.SecurityTypes.TryParse(text, out var type)
            ? type
            : throw new FormatException($"security_type is smime or pgp, not {Show(value)}");

    private static string Text(object? value, string what) =>
        value is string text && text.Trim().Length > 0 ? text.Trim() : throw new FormatException($"expected {what} (text), not {Show(value)}");

    private static string[] Texts(object? value) => value switch
    {
        string text => [Text(text, "text")],
        IEnumerable<object?> items => [.. items.Select(i => Text(i, "text"))],
        _ => throw new FormatException($"expected text or a list of texts, not {Show(value)}"),
    };

    /// <summary>IMAP keywords are atoms: no spaces, parentheses, braces, quotes, percent, asterisk or backslash.</summary>
    private static string[] Keywords(object? value)
    {
        var keywords = Texts(value);
        foreach (var keyword in keywords)
        {
            if (!KeywordPattern().IsMatch(keyword))
            {
                throw new FormatException($"'{keyword}' is not an IMAP keyword (letters, digits, - _ . $ only)");
            }
        }

        return keywords;
    }

    /// <summary>Fields a message has at most once (RFC 5322 3.6), its MIME structure, trace fields and the pickup envelope: never added by a rule.</summary>
    private static bool IsMessageStructure(string name) =>
        name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("Resent-", StringComparison.OrdinalIgnoreCase)
        || name.ToUpperInvariant() is "FROM" or "SENDER" or "REPLY-TO" or "TO" or "CC" or "BCC" or "MESSAGE-ID" or "IN-REPLY-TO"
            or "REFERENCES" or "SUBJECT" or "DATE" or "MIME-VERSION" or "RETURN-PATH" or "RECEIVED" or "DKIM-SIGNATURE"
            or "AUTHENTICATION-RESULTS" or "AUTOCRYPT" or "X-SENDER" or "X-RECEIVER";

    private static Dictionary<string, string> Headers(object? value)
    {
        if (value is not IEnumerable<KeyValuePair<string, object?>> map)
        {
            throw new FormatException($"header takes a map of header names to values, not {Show(value)}");
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, headerValue) in map)
        {
            if (!HeaderNamePattern().IsMatch(name))
            {
                throw new FormatException($"'{name}' is not a header name");
            }

            if (Crypto.OwnHeaders.IsOwn(name))
            {
                throw new FormatException($"'{name}': X-RuleMail-* headers are RuleMail's own");
            }

            if (IsMessageStructure(name))
            {
                // Added to outgoing mail, these would change who it goes to, who it is from, or how it is read.
                throw new FormatException($"'{name}': a rule adds headers; it cannot set the message's own {name} (addresses, identity, date, subject or MIME structure)");
            }

            headers[name] = headerValue switch
            {
                string text when !text.Contains('\n', StringComparison.Ordinal) && !text.Contains('\r', StringComparison.Ordinal) => text,
                bool or int or long or double => Convert.ToString(headerValue, System.Globalization.CultureInfo.InvariantCulture)!,
                _ => throw new FormatException($"the value of header '{name}' must be one line of text"),
            };
        }

        return headers;
    }

    /// <summary>
    /// <c>webhook</c> takes a URL, a map <c>{url, secret_env, include, timeout}</c>, or a list of either. A problem
    /// inside a map is reported under <c>webhook.KEY</c>, so the YAML loader can point at that key.
    /// </summary>
    private static RuleDecision Webhooks(RuleDecision decision, object? value, List<(string Key, string Message)> problems)
    {
        var items = value is IEnumerable<object?> list ? list.ToList() : [value];
        var urls = new List<string>();
        var options = new Dictionary<string, WebhookOptions>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in items)
        {
            if (item is not IEnumerable<KeyValuePair<string, object?>> map)
            {
                urls.Add(Url(Text(item, "an http(s) URL or a map {url, secret_env, include, timeout}")));
                continue;
            }

            string? url = null;
            var settings = new WebhookOptions();
            foreach (var (key, setting) in map)
            {
                try
                {
                    switch (key)
                    {
                        case "url":
                            url = Url(Text(setting, "an http(s) URL"));
                            break;
                        case "timeout":
                            settings = settings with { Timeout = Timeout(setting) };
                            break;
                        case "secret_env":
                            settings = settings with { SecretEnv = SecretEnv(setting) };
                            break;
                        case "include":
                            settings = settings with { Include = Include(setting) };
                            break;
                        default:
                            throw new FormatException($"unknown webhook setting '{key}' (known: url, secret_env, include, timeout)");
                    }
                }
                catch (FormatException e)
                {
                    problems.Add(($"webhook.{key}", e.Message));
                }
            }

            if (url is null)
            {
                // Only when the map has no url key at all: a bad url was reported at its key above.
                if (!map.Any(p => p.Key == "url"))
                {
                    throw new FormatException("a webhook map needs its url");
                }

                continue;
            }

            if (settings.Include != WebhookInclude.None && !Private(url))
            {
                // Decrypted content in the clear on the network would undo the encryption it arrived with.
                problems.Add(("webhook.include", $"include sends the message's content: use an https URL (or a loopback address), not {Uri.UriSchemeHttp}://{new Uri(url).Authority}"));
                continue;
            }

            urls.Add(url);
            if (!settings.IsDefault)
            {
                options.TryAdd(url, settings);
            }
        }

        return decision with { Webhook = urls, WebhookOptions = options };
    }

    /// <summary>A duration such as <c>10s</c>, <c>500ms</c> or <c>2m</c>, within the bounds of <see cref="WebhookOptions"/>.</summary>
    private static TimeSpan Timeout(object? value)
    {
        var match = value is string text ? DurationPattern().Match(text.Trim()) : null;
        if (match is not { Success: true })
        {
            throw new FormatException($"timeout takes a duration such as 10s, 500ms or 2m, not {Show(value)}");
        }

        var amount = long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var timeout = match.Groups[2].Value switch
        {
            "ms" => TimeSpan.FromMilliseconds(amount),
            "s" => TimeSpan.FromSeconds(amount),
            _ => TimeSpan.FromMinutes(amount),
        };
        return timeout >= WebhookOptions.MinTimeout && timeout <= WebhookOptions.MaxTimeout
            ? timeout
            : throw new FormatException($"timeout {value} is out of bounds (from {WebhookOptions.MinTimeout.TotalMilliseconds:0}ms to {WebhookOptions.MaxTimeout.TotalMinutes:0}m)");
    }

    /// <summary>
    /// The name of the variable holding a webhook's signing secret. Only a name is taken: a value that is not one (a
    /// secret pasted into the rule, say) is refused without being repeated in the error.
    /// </summary>
    private static string SecretEnv(object? value) =>
        value is string text && EnvironmentNamePattern().IsMatch(text.Trim())
            ? text.Trim()
            : throw new FormatException("secret_env names the environment variable that holds the secret (letters, digits and _, not starting with a digit); the secret itself never goes in a rule");

    /// <summary><c>text</c>, <c>html</c>, <c>mime</c>, or a list of them.</summary>
    private static WebhookInclude Include(object? value)
    {
        var include = WebhookInclude.None;
        foreach (var item in Texts(value))
        {
            include |= item switch
            {
                "text" => WebhookInclude.Text,
                "html" => WebhookInclude.Html,
                "mime" => WebhookInclude.Mime,
                _ => throw new FormatException($"include takes text, html and mime, not '{item}'"),
            };
        }

        return include;
    }

    /// <summary>True when what is sent to <paramref name="url"/> cannot be read on the way: https, or http to this host's loopback.</summary>
    private static bool Private(string url) =>
        new Uri(url) is var uri && (uri.Scheme == Uri.UriSchemeHttps || uri.IsLoopback);

    private static string Url(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? value
            : throw new FormatException($"webhook '{value}' is not an http(s) URL");

    private static string Address(string value) =>
        RuleMail.Keys.MailAddresses.Normalize(value) ?? throw new FormatException($"notify '{value}' is not an e-mail address");

    private static string Show(object? value) => value switch
    {
        null => "nothing",
        string text => $"'{text}'",
        bool flag => flag ? "true" : "false",
        IEnumerable<KeyValuePair<string, object?>> => "a map",
        IEnumerable<object?> => "a list",
        _ => $"'{value}'",
    };

    [GeneratedRegex(@"^[A-Za-z0-9$_.\-]+$")]
    private static partial Regex KeywordPattern();

    [GeneratedRegex(@"^([0-9]{1,7})(ms|s|m)$")]
    private static partial Regex DurationPattern();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
    private static partial Regex EnvironmentNamePattern();

    [GeneratedRegex(@"^[!-9;-~]+$")]
    private static partial Regex HeaderNamePattern();
}
