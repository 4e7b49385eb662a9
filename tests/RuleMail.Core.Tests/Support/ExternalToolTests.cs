namespace RuleMail.Core.Tests.Support;

/// <summary>Interop tests lean on this: a missing, failing or hanging tool must fail the test loudly, never pass it.</summary>
public sealed class ExternalToolTests
{
    [Fact]
    public void A_missing_tool_fails_with_its_name_and_how_to_install_it()
    {
        var error = Assert.Throws<ExternalToolException>(() => ExternalTool.Run("rulemail-no-such-tool", ["--version"]));

        Assert.Contains("rulemail-no-such-tool", error.Message, StringComparison.Ordinal);
        Assert.Contains("install", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failing_tool_fails_with_its_exit_code_and_stderr()
    {
        var error = Assert.Throws<ExternalToolException>(() => ExternalTool.Run("sh", ["-c", "echo 'unable to load key' >&2; exit 3"]));

        Assert.Contains("exit code 3", error.Message, StringComparison.Ordinal);
        Assert.Contains("unable to load key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hanging_tool_is_killed_and_fails_at_its_timeout()
    {
        var options = new ToolOptions { Timeout = TimeSpan.FromMilliseconds(300) };

        var error = Assert.Throws<ExternalToolException>(() => ExternalTool.Run("sleep", ["30"], options));

        Assert.Contains("did not finish", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Standard_input_reaches_the_tool_and_binary_output_comes_back_unchanged()
    {
        byte[] input = [0x00, 0xFF, 0x80, 0x0A, 0x41];

        var result = ExternalTool.Run("cat", [], new ToolOptions { Input = input });

        Assert.Equal(input, result.StandardOutput);
    }
}
