using RuleMail.Cli.Tests.Support;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Cli.Tests.Commands;

public sealed class CliBehaviourTests
{
    [Theory]
    [InlineData("bogus")]
    [InlineData("keys")]
    [InlineData("keys", "import")]
    [InlineData("keys", "list", "--no-such-option")]
    public void Bad_usage_exits_2_with_one_line(params string[] args)
    {
        using var work = new TempDirectory("cli-usage");

        var result = CliRun.Run(work.Path, null, args);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("rulemail: ", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("'chek' is not a rulemail command; did you mean 'rulemail check'? Commands: keys, options, check,", "chek", "x.eml")]
    [InlineData("'lst' is not a rulemail keys command; did you mean 'rulemail keys list'? Commands: import, list, remove.", "keys", "lst")]
    [InlineData("'lsit' is not a rulemail keys command; did you mean 'rulemail keys list'?", "keys", "lsit")]
    [InlineData("'imp' is not a rulemail keys command; did you mean 'rulemail keys import'?", "keys", "imp")]
    [InlineData("'frobnicate' is not a rulemail command. Commands: keys,", "frobnicate")]
    public void A_mistyped_command_is_named_with_the_nearest_one_and_the_commands_there_are(string expected, params string[] args)
    {
        using var work = new TempDirectory("cli-typo");

        var result = CliRun.Run(work.Path, null, args);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("rulemail: " + expected, Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("check", "help")]
    [InlineData("import", "keys", "help")]
    public void Help_as_a_word_shows_the_help_of_where_it_stands(string mentions, params string[] args)
    {
        using var work = new TempDirectory("cli-help");

        var result = CliRun.Run(work.Path, null, args);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Usage:", result.Output, StringComparison.Ordinal);
        Assert.Contains(mentions, result.Output, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Error);
    }

    [Fact]
    public void A_config_with_an_unknown_key_exits_3_naming_file_line_and_column()
    {
        using var work = new TempDirectory("cli-config");
        File.WriteAllText(work.File("rulemail.yaml"), "keystore: keys\nkeystroe_passphrase_file: x\n");

        var result = CliRun.Run(work.Path, null, "keys", "list");

        Assert.Equal(3, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("rulemail.yaml:2:1: unknown key 'keystroe_passphrase_file'", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_with_an_alias_exits_3_with_one_line_naming_file_line_and_column()
    {
        var error = RunOnConfig("keystore: &k keys\nrules: *k\n");

        Assert.EndsWith("rulemail.yaml:1:11: anchors and aliases (&k, *k) are not accepted: write the value out in full", error, StringComparison.Ordinal);
    }

    /// <summary>
    /// A guard more than a fix: the configuration's typed reader stops at the first value of the wrong type, so deep
    /// nesting meets it before anything recurses far. Run as its own process, since a stack overflow ends a process
    /// whatever catches it, should a field ever take free-form YAML.
    /// </summary>
    [Fact]
    public void A_config_nested_without_end_exits_3_with_one_line_naming_file_line_and_column()
    {
        var error = RunOnConfig("keystore: " + new string('[', 100_000));

        Assert.Matches(@"rulemail\.yaml:1:\d+: ", error);
    }

    [Fact]
    public void The_real_executable_reports_bad_input_in_one_line_without_a_stack_trace()
    {
        using var work = new TempDirectory("cli-process");
        File.WriteAllText(work.File("junk.crt"), "-----BEGIN CERTIFICATE-----\nMIIB\n");
        var executable = Path.Combine(AppContext.BaseDirectory, "rulemail.dll");

        var result = ExternalTool.TryRun("dotnet", [executable, "keys", "import", "junk.crt", "--keystore", work.File("store")],
            new ToolOptions { WorkingDirectory = work.Path });

        Assert.Equal(3, result.ExitCode);
        var lines = result.StandardError.TrimEnd('\n').Split('\n');
        var line = Assert.Single(lines);
        Assert.Contains("junk.crt", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.StandardError, StringComparison.Ordinal);
        Assert.False(Directory.Exists(work.File("store")));
    }

    /// <summary>Runs <c>rulemail keys list</c> as its own process on this <c>rulemail.yaml</c>; expects exit 3 and gives the one line on stderr.</summary>
    private static string RunOnConfig(string yaml)
    {
        using var work = new TempDirectory("cli-config");
        File.WriteAllText(work.File("rulemail.yaml"), yaml);
        var executable = Path.Combine(AppContext.BaseDirectory, "rulemail.dll");

        var result = ExternalTool.TryRun("dotnet", [executable, "keys", "list"], new ToolOptions { WorkingDirectory = work.Path });

        Assert.True(result.ExitCode == 3, result.StandardError);
        return Assert.Single(result.StandardError.TrimEnd('\n').Split('\n'));
    }
}
