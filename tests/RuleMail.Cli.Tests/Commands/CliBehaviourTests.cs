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
}
