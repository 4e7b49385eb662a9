namespace RuleMail.Rules;

/// <summary>
/// The rules of a folder: <c>*.yaml</c>, <c>*.yml</c> and <c>*.js</c> files, evaluated in file-name order
/// (rules within a YAML file in their order). Decisions merge as <see cref="RuleDecision.Merge"/> says, and
/// <c>stop</c> ends processing. A rule that fails (load error, script error, limit, slow pattern) is
/// reported in the trace and in <see cref="RuleEvaluation.Errors"/> and skipped; the others still run.
/// </summary>
/// <remarks>Thread-safe: evaluate from any number of workers.</remarks>
public sealed class RuleSet
{
    private readonly IReadOnlyList<IRule> _rules;

    private RuleSet(string directory, IReadOnlyList<IRule> rules, IReadOnlyList<RuleLoadError> errors, int files)
    {
        Directory = directory;
        _rules = rules;
        Errors = errors;
        FileCount = files;
    }

    public string Directory { get; }

    /// <summary>Problems found while loading, each with file:line:col; the rules concerned never apply.</summary>
    public IReadOnlyList<RuleLoadError> Errors { get; }

    public int FileCount { get; }

    public int RuleCount => _rules.Count;

    /// <summary>The rules in the order they run (a rule that did not load stands where its file does).</summary>
    internal IReadOnlyList<IRule> Rules => _rules;

    /// <summary>No rules at all (used when the rules folder does not exist).</summary>
    public static RuleSet Empty(string directory) => new(directory, [], [], 0);

    /// <summary>Loads every rule file of <paramref name="directory"/> (not its subfolders).</summary>
    /// <param name="limits">The JavaScript sandbox's limits; <see cref="JavaScriptLimits.Default"/> when null.</param>
    /// <exception cref="RuleMailException">The folder does not exist or cannot be read.</exception>
    public static RuleSet Load(string directory, JavaScriptLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!System.IO.Directory.Exists(directory))
        {
            throw new RuleMailException($"{directory}: no such rules folder");
        }

        var files = System.IO.Directory.EnumerateFiles(directory).Where(IsRuleFile).Order(StringComparer.Ordinal).ToList();
        return Load(directory, files, limits);
    }

    /// <summary>
    /// Loads one rule file as its folder's load would (the same checks and the same <c>folder/file</c> names in errors),
    /// without the folder's other files: <c>rulemail rules lint FILE</c> before the file goes into the folder.
    /// </summary>
    /// <exception cref="RuleMailException">The file does not exist or is not a rule file (.yaml, .yml, .js).</exception>
    public static RuleSet LoadFile(string file, JavaScriptLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(file);
        if (!File.Exists(file))
        {
            throw new RuleMailException($"{file}: no such rule file or rules folder");
        }

        if (!IsRuleFile(file))
        {
            throw new RuleMailException($"{file}: not a rule file: rule files end in .yaml, .yml or .js");
        }

        return Load(Path.GetDirectoryName(Path.GetFullPath(file))!, [file], limits);
    }

    private static bool IsRuleFile(string file) =>
        file.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".yml", StringComparison.OrdinalIgnoreCase)
        || file.EndsWith(".js", StringComparison.OrdinalIgnoreCase);

    private static RuleSet Load(string directory, List<string> files, JavaScriptLimits? limits)
    {
        var errors = new List<RuleLoadError>();
        var rules = new List<IRule>();
        foreach (var file in files)
        {
            var displayName = Path.Combine(Path.GetFileName(Path.TrimEndingDirectorySeparator(directory)), Path.GetFileName(file));
            try
            {
                if (!file.EndsWith(".js", StringComparison.OrdinalIgnoreCase))
                {
                    var errorsBefore = errors.Count;
                    var loaded = YamlRuleFile.Load(file, displayName, errors);
                    if (loaded.Count == 0 && errors.Count == errorsBefore)
                    {
                        // An emptied or commented-out policy file would switch its policy off without a word.
                        errors.Add(new RuleLoadError(displayName, 1, 1, "the file defines no rules: add rules, or remove the file"));
                    }

                    rules.AddRange(loaded);
                }
                else if (JavaScriptRule.TryLoad(file, displayName, out var script, out var error, limits))
                {
                    rules.Add(script);
                }
                else
                {
                    errors.Add(error);
                    rules.Add(new BrokenRule(Path.GetFileNameWithoutExtension(file), displayName, error.ToString()));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                var error = new RuleLoadError(displayName, 0, 0, $"cannot read the file: {e.Message}");
                errors.Add(error);
                rules.Add(new BrokenRule(Path.GetFileNameWithoutExtension(file), displayName, error.ToString()));
            }
        }

        return new RuleSet(directory, rules, errors, files.Count);
    }

    /// <summary>Whether any rule applies to <paramref name="direction"/>.</summary>
    public bool Covers(RuleDirection direction) => _rules.Any(r => r.On == direction || r.On == RuleDirection.Both);

    /// <summary>Runs the rules that apply to <paramref name="direction"/> on <paramref name="message"/>.</summary>
    public RuleEvaluation Evaluate(RuleMessage message, RuleDirection direction)
    {
        ArgumentNullException.ThrowIfNull(message);
        var trace = new List<RuleResult>();
        var errors = new List<string>();
        var decision = RuleDecision.Empty;

        // Read once for all the JavaScript rules of this message, each of which copies it into its own engine.
        JavaScriptMessage? javaScript = null;
        foreach (var rule in _rules)
        {
            if (!rule.Enabled || (rule.On != RuleDirection.Both && rule.On != direction))
            {
                continue;
            }

            var result = rule is JavaScriptRule script
                ? script.Evaluate(javaScript ??= JavaScriptMessage.From(message.Root))
                : rule.Evaluate(message);
            trace.Add(result);
            if (result.Error is not null)
            {
                errors.Add($"{result.File}: rule '{result.Name}': {result.Error}");
                continue;
            }

            if (result.Matched && result.Decision is not null)
            {
                decision = decision.Merge(result.Decision);
                if (result.Decision.Stop)
                {
                    break;
                }
            }
        }

        return new RuleEvaluation(trace, decision, errors);
    }
}
