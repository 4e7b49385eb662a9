namespace RuleMail.Core.Tests.Rules;

/// <summary>
/// Rule files come from people with a token (<c>POST /api/v1/rules/lint</c>, <c>/rules/test</c>): a file nested
/// without end or one that expands through aliases is one lint error with file:line:col, never a stack overflow that
/// ends the process or an expansion that fills the memory.
/// </summary>
public sealed class YamlHostileInputTests : IDisposable
{
    private readonly RuleFolder _rules = new();

    public static TheoryData<string, string, int, int> Hostile => new()
    {
        { "lists", new string('[', 100_000), 1, 65 },
        { "maps", string.Concat(Enumerable.Repeat("{a: ", 100_000)), 1, 4 * 64 + 1 },
        { "maps in lines", "rules:\n" + string.Concat(Enumerable.Range(1, 200).Select(i => new string(' ', i) + "a:\n")), 65, 65 },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void Nesting_deeper_than_64_levels_is_one_error_at_the_level_too_deep(string shape, string yaml, int line, int column)
    {
        _rules.With("deep.yaml", yaml);

        var set = _rules.Load();

        var error = Assert.Single(set.Errors);
        Assert.True((line, column) == (error.Line, error.Column), $"{shape}: {error}");
        Assert.EndsWith($"deep.yaml:{line}:{column}: nesting deeper than 64 levels of lists and maps is not accepted", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Nesting_of_64_levels_still_loads()
    {
        // The file's map (1) > the list of rules (2) > the rule (3) > 30 {all: [...]} (4-63) > the innermost condition (64).
        var when = string.Concat(Enumerable.Repeat("{all: [", 30)) + "{subject: x}" + string.Concat(Enumerable.Repeat("]}", 30));
        _rules.With("deep.yaml", $"rules:\n  - name: deep\n    when: {when}\n    then: {{tag: deep}}\n");

        var set = _rules.Load();

        Assert.Empty(set.Errors);
        Assert.Equal(1, set.RuleCount);
    }

    [Fact]
    public void An_alias_is_refused_so_a_billion_laughs_file_cannot_expand()
    {
        var lines = new List<string> { "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]" };
        for (var i = 1; i < 9; i++)
        {
            var (name, previous) = ((char)('a' + i), (char)('a' + i - 1));
            lines.Add($"{name}: &{name} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]");
        }

        _rules.With("laughs.yaml", string.Join('\n', lines) + "\nrules:\n  - name: laugh\n    when: {subject: {in: *i}}\n    then: {tag: x}\n");

        var error = Assert.Single(_rules.Load().Errors);

        Assert.EndsWith("laughs.yaml:1:4: anchors and aliases (&a, *a) are not accepted: write the value out in full", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_alias_alone_is_refused_where_it_stands()
    {
        _rules.With("alias.yaml", "rules:\n  - name: a\n    then: *missing\n");

        var error = Assert.Single(_rules.Load().Errors);

        Assert.Equal((3, 11), (error.Line, error.Column));
        Assert.EndsWith("alias.yaml:3:11: anchors and aliases (&missing, *missing) are not accepted: write the value out in full", error.ToString(), StringComparison.Ordinal);
    }

    public void Dispose() => _rules.Dispose();
}
