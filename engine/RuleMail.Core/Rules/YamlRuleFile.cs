using System.Globalization;
using System.Text.RegularExpressions;
using RuleMail.Yaml;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace RuleMail.Rules;

/// <summary>
/// Reads a YAML rule file strictly: unknown keys, wrong types, duplicate keys, unknown fields and operators,
/// and bad patterns are errors with <c>file:line:col</c>. A rule with an error is kept as a
/// <see cref="BrokenRule"/> (reported on every evaluation, never applied); the file's other rules still load.
/// </summary>
internal static class YamlRuleFile
{
    /// <summary>How long one <c>matches</c> may take before it is stopped.</summary>
    public static readonly TimeSpan PatternTimeout = TimeSpan.FromMilliseconds(100);

    private static readonly HashSet<string> RuleKeys = new(StringComparer.Ordinal) { "name", "on", "enabled", "description", "when", "then" };
    private static readonly HashSet<string> Operators = new(StringComparer.Ordinal) { "equals", "contains", "matches", "in", "domain", "exists", "gt", "lt" };
    private static readonly HashSet<string> AddressFields = new(StringComparer.Ordinal) { "address", "name", "domain" };
    private static readonly HashSet<string> AttachmentFields = new(StringComparer.Ordinal) { "name", "type", "size" };
    private static readonly HashSet<string> PlainFields = new(StringComparer.Ordinal) { "direction", "account", "subject", "date", "size", "text" };
    private static readonly HashSet<string> SecurityFields = new(StringComparer.Ordinal)
    {
        "type", "sign", "sign.success", "sign.comment", "encryption", "encryption.success", "encryption.comment",
        "sign.signer", "sign.signer.address", "sign.signer.fingerprint", "sign.digest", "sign.key", "sign.key.algorithm", "sign.key.bits",
        "encryption.cipher", "encryption.integrity",
    };

    public static List<IRule> Load(string path, string displayName, List<RuleLoadError> errors)
    {
        var rules = new List<IRule>();
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            stream.Load(new BoundedYamlParser(reader));
        }
        catch (YamlException e)
        {
            var error = new RuleLoadError(displayName, (int)e.Start.Line, (int)e.Start.Column, Clean(e));
            errors.Add(error);
            rules.Add(new BrokenRule(Path.GetFileNameWithoutExtension(path), displayName, error.ToString()));
            return rules;
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return rules;
        }

        var root = stream.Documents[0].RootNode;
        if (root is not YamlMappingNode top)
        {
            errors.Add(At(displayName, root, "a rule file is a map with the key 'rules'"));
            return rules;
        }

        foreach (var (key, value) in top.Children)
        {
            if (Name(key) != "rules")
            {
                errors.Add(At(displayName, key, $"unknown key '{Name(key)}' (a rule file has only 'rules')"));
            }
            else if (value is not YamlSequenceNode list)
            {
                errors.Add(At(displayName, value, "'rules' is a list of rules"));
            }
            else
            {
                var index = 0;
                foreach (var item in list)
                {
                    index++;
                    rules.Add(LoadRule(item, displayName, index, errors));
                }
            }
        }

        return rules;
    }

    private static IRule LoadRule(YamlNode node, string file, int index, List<RuleLoadError> errors)
    {
        var problems = new List<RuleLoadError>();
        string name = $"rule {index}";
        if (node is not YamlMappingNode map)
        {
            problems.Add(At(file, node, "a rule is a map with name, on, when and then"));
            return Broken(name, file, problems, errors);
        }

        var on = RuleDirection.Both;
        var enabled = true;
        Condition? when = null;
        RuleDecision? then = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in map.Children)
        {
            var key = Name(keyNode);
            seen.Add(key);
            switch (key)
            {
                case "name":
                    name = Scalar(value) is { Length: > 0 } text ? text : name;
                    if (Scalar(value) is not { Length: > 0 })
                    {
                        problems.Add(At(file, value, "name is a non-empty text"));
                    }

                    break;
                case "on":
                    switch (Scalar(value))
                    {
                        case "incoming": on = RuleDirection.Incoming; break;
                        case "outgoing": on = RuleDirection.Outgoing; break;
                        case "both": on = RuleDirection.Both; break;
                        default: problems.Add(At(file, value, $"on is incoming, outgoing or both, not '{Scalar(value)}'")); break;
                    }

                    break;
                case "enabled":
                    if (Plain(value) is bool flag)
                    {
                        enabled = flag;
                    }
                    else
                    {
                        problems.Add(At(file, value, "enabled is true or false"));
                    }

                    break;
                case "description":
                    break;
                case "when":
                    when = ReadCondition(value, file, problems);
                    break;
                case "then":
                    then = ReadDecision(value, file, problems);
                    break;
                default:
                    problems.Add(At(file, keyNode, $"unknown key '{key}' (a rule has {string.Join(", ", RuleKeys.Order(StringComparer.Ordinal))})"));
                    break;
            }
        }

        if (!seen.Contains("name"))
        {
            problems.Add(At(file, map, "the rule has no name"));
        }

        if (!seen.Contains("then"))
        {
            problems.Add(At(file, map, $"the rule '{name}' has no 'then'"));
        }

        return problems.Count > 0 ? Broken(name, file, problems, errors) : new YamlRule(name, file, on, enabled, when, then!);
    }

    private static BrokenRule Broken(string name, string file, List<RuleLoadError> problems, List<RuleLoadError> errors)
    {
        errors.AddRange(problems);
        return new BrokenRule(name, file, problems[0].ToString());
    }

    private static Condition? ReadCondition(YamlNode node, string file, List<RuleLoadError> problems)
    {
        switch (node)
        {
            case YamlSequenceNode list:
                return new Condition.All([.. list.Select(item => ReadCondition(item, file, problems)).OfType<Condition>()]);
            case YamlMappingNode map:
                var parts = new List<Condition>();
                foreach (var (keyNode, value) in map.Children)
                {
                    var key = Name(keyNode);
                    switch (key)
                    {
                        case "all" or "any":
                            if (value is not YamlSequenceNode items)
                            {
                                problems.Add(At(file, value, $"'{key}' takes a list of conditions"));
                                continue;
                            }

                            var inner = items.Select(item => ReadCondition(item, file, problems)).OfType<Condition>().ToList();
                            parts.Add(key == "all" ? new Condition.All(inner) : new Condition.Any(inner));
                            break;
                        case "not":
                            if (ReadCondition(value, file, problems) is { } negated)
                            {
                                parts.Add(new Condition.Not(negated, Describe(value)));
                            }

                            break;
                        default:
                            parts.AddRange(ReadField(key, keyNode, value, file, problems));
                            break;
                    }
                }

                return parts.Count == 1 ? parts[0] : new Condition.All(parts);
            default:
                problems.Add(At(file, node, "a condition is a map of field: value, or all/any/not"));
                return null;
        }
    }

    private static IEnumerable<Condition> ReadField(string path, YamlNode keyNode, YamlNode value, string file, List<RuleLoadError> problems)
    {
        if (CheckPath(path) is { } pathProblem)
        {
            problems.Add(At(file, keyNode, pathProblem));
            return [];
        }

        if (value is YamlScalarNode)
        {
            return [new Condition.Field(path, "equals", Plain(value), null)];
        }

        if (value is not YamlMappingNode operators)
        {
            problems.Add(At(file, value, $"compare {path} with a value, or give operators (a list of values goes under 'in:')"));
            return [];
        }

        var conditions = new List<Condition>();
        foreach (var (opNode, operandNode) in operators.Children)
        {
            var op = Name(opNode);
            if (!Operators.Contains(op))
            {
                problems.Add(At(file, opNode, $"unknown operator '{op}' (known: {string.Join(", ", Operators.Order(StringComparer.Ordinal))})"));
                continue;
            }

            var condition = ReadOperator(path, op, operandNode, file, problems);
            if (condition is not null)
            {
                conditions.Add(condition);
            }
        }

        return conditions;
    }

    private static Condition.Field? ReadOperator(string path, string op, YamlNode node, string file, List<RuleLoadError> problems)
    {
        var operand = Plain(node);
        switch (op)
        {
            case "equals":
                if (node is not YamlScalarNode)
                {
                    problems.Add(At(file, node, "equals takes one value (use 'in' for a list)"));
                    return null;
                }

                return new Condition.Field(path, op, operand, null);
            case "contains" or "domain":
                if (operand is not string text || text.Length == 0)
                {
                    problems.Add(At(file, node, $"{op} takes a text"));
                    return null;
                }

                return new Condition.Field(path, op, op == "domain" ? text.Trim().TrimStart('@').ToLowerInvariant() : text, null);
            case "matches":
                if (node is not YamlScalarNode { Value: { Length: > 0 } pattern })
                {
                    problems.Add(At(file, node, "matches takes a regular expression"));
                    return null;
                }

                try
                {
                    return new Condition.Field(path, op, pattern, new Regex(pattern, RegexOptions.CultureInvariant, PatternTimeout));
                }
                catch (ArgumentException e)
                {
                    problems.Add(At(file, node, $"bad regular expression: {e.Message}"));
                    return null;
                }

            case "in":
                if (node is not YamlSequenceNode items || items.Any(i => i is not YamlScalarNode))
                {
                    problems.Add(At(file, node, "in takes a list of values"));
                    return null;
                }

                return new Condition.Field(path, op, items.Select(Plain).ToList(), null);
            case "exists":
                if (operand is not bool)
                {
                    problems.Add(At(file, node, "exists takes true or false"));
                    return null;
                }

                return new Condition.Field(path, op, operand, null);
            default:
                if (operand is double)
                {
                    return new Condition.Field(path, op, operand, null);
                }

                if (operand is string when && DateTimeOffset.TryParse(when, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
                {
                    return new Condition.Field(path, op, date, null);
                }

                problems.Add(At(file, node, $"{op} takes a number or a date"));
                return null;
        }
    }

    private static RuleDecision? ReadDecision(YamlNode node, string file, List<RuleLoadError> problems)
    {
        if (node is not YamlMappingNode map || map.Children.Count == 0)
        {
            problems.Add(At(file, node, "then is a map of decisions (sign, encrypt, security_type, flag, move, tag, header, webhook, notify, hold, stop)"));
            return null;
        }

        var keys = map.Children.ToDictionary(p => Name(p.Key), p => p.Key, StringComparer.Ordinal);
        var decisionProblems = new List<(string Key, string Message)>();
        var decision = DecisionKeys.Read(map.Children.Select(p => new KeyValuePair<string, object?>(Name(p.Key), Value(p.Value))), decisionProblems);
        foreach (var (key, message) in decisionProblems)
        {
            problems.Add(At(file, Locate(map, keys, key), message));
        }

        return decision;
    }

    /// <summary>
    /// The node a decision problem is about: the decision's value, or for <c>webhook.KEY</c> that key inside the
    /// webhook map (or inside the first map of a webhook list that has it).
    /// </summary>
    private static YamlNode Locate(YamlMappingNode map, Dictionary<string, YamlNode> keys, string problemKey)
    {
        var parts = problemKey.Split('.', 2);
        if (!keys.TryGetValue(parts[0], out var key))
        {
            return map;
        }

        var value = map.Children[key];
        if (parts.Length == 1)
        {
            return value;
        }

        var maps = value switch
        {
            YamlMappingNode single => [single],
            YamlSequenceNode list => list.OfType<YamlMappingNode>().ToList(),
            _ => new List<YamlMappingNode>(),
        };
        return maps.SelectMany(m => m.Children).FirstOrDefault(p => Name(p.Key) == parts[1]).Key ?? value;
    }

    /// <summary>Checks a field path against the message model, so a typo is an error at lint, not a rule that never matches.</summary>
    private static string? CheckPath(string path)
    {
        var parts = path.Split('.', 2);
        var (root, rest) = (parts[0], parts.Length > 1 ? parts[1] : null);
        var valid = root switch
        {
            _ when PlainFields.Contains(root) => rest is null,
            "from" or "to" or "cc" or "bcc" => rest is null || AddressFields.Contains(rest),
            "attachments" => rest is null || AttachmentFields.Contains(rest),
            "headers" => rest is { Length: > 0 } && !rest.Contains('.', StringComparison.Ordinal),
            "security" => rest is not null && SecurityFields.Contains(rest),
            _ => false,
        };
        return valid ? null : $"unknown field '{path}' (fields: direction, account, from/to/cc[.address|.name|.domain], subject, date, size, headers.NAME, text, attachments[.name|.type|.size], security.type, security.sign.success, ...)";
    }

    /// <summary>A YAML scalar as a typed value: plain true/false are booleans, plain numbers are numbers, null/~ is null; quoted stays text.</summary>
    private static object? Plain(YamlNode node)
    {
        if (node is not YamlScalarNode scalar)
        {
            return null;
        }

        var text = scalar.Value;
        if (scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded)
        {
            return text;
        }

        return text switch
        {
            null or "" or "~" or "null" => null,
            "true" or "True" or "TRUE" => true,
            "false" or "False" or "FALSE" => false,
            _ when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) => number,
            _ => text,
        };
    }

    /// <summary>Any node as plain values: scalars typed, lists, and maps of text keys.</summary>
    private static object? Value(YamlNode node) => node switch
    {
        YamlSequenceNode list => list.Select(Value).ToList(),
        YamlMappingNode map => map.Children.Select(p => new KeyValuePair<string, object?>(Name(p.Key), Value(p.Value))).ToList(),
        _ => Plain(node),
    };

    private static string? Scalar(YamlNode node) => node is YamlScalarNode scalar ? scalar.Value : null;

    private static string Name(YamlNode node) => node is YamlScalarNode scalar ? scalar.Value ?? string.Empty : node.ToString();

    private static string Describe(YamlNode node) => node is YamlMappingNode map
        ? string.Join(", ", map.Children.Select(p => $"{Name(p.Key)}: {(p.Value is YamlScalarNode s ? s.Value : "...")}"))
        : node.ToString();

    private static RuleLoadError At(string file, YamlNode node, string message) =>
        new(file, (int)node.Start.Line, (int)node.Start.Column, message);

    private static string Clean(YamlException e)
    {
        var message = e.InnerException is YamlException inner ? inner.Message : e.Message;
        return message.StartsWith("Duplicate key", StringComparison.Ordinal) ? $"duplicate key '{message["Duplicate key ".Length..]}'" : message;
    }
}
