namespace RuleMail.Cli.Tests.Support;

/// <summary>Runs <c>rulemail</c> in-process with its own streams, environment and working folder.</summary>
internal static class CliRun
{
    public static CliResult Run(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        RunWithInput(workingDirectory, environment, [], args);

    /// <summary>As <see cref="Run"/>, with <paramref name="input"/> as the standard input.</summary>
    public static CliResult RunWithInput(string workingDirectory, IReadOnlyDictionary<string, string>? environment, byte[] input, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var variables = environment ?? new Dictionary<string, string>();
        var console = new CliConsole(
            output,
            error,
            name => variables.TryGetValue(name, out var value) ? value : null,
            workingDirectory,
            TimeProvider.System,
            () => new MemoryStream(input, writable: false));
        var exitCode = RuleMailCli.Run(args, console);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }

    /// <summary>The repository root (the folder holding RuleMail.sln).</summary>
    public static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "RuleMail.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("RuleMail.sln not found above the test folder");
    }
}

internal sealed record CliResult(int ExitCode, string Output, string Error)
{
    /// <summary>The error output's lines, without the trailing newline.</summary>
    public string[] ErrorLines => Error.TrimEnd('\n').Split('\n');
}
