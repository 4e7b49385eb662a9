using System.Diagnostics;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Benchmarks.Http;

/// <summary>
/// The built <c>rulemail</c> executable (<c>engine/RuleMail.Cli</c>, built with this project in the same configuration,
/// see the csproj), run as its own process with <c>dotnet rulemail.dll</c>, as a ticket system would run it.
/// </summary>
internal static class RuleMailProcess
{
    /// <summary>The CLI's <c>rulemail.dll</c> of the configuration this benchmark was built in.</summary>
    public static string Assembly { get; } = Locate();

    /// <summary>A start description for <c>dotnet rulemail.dll ARGS</c>, output redirected.</summary>
    public static ProcessStartInfo Start(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        start.ArgumentList.Add(Assembly);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The service must not find a passphrase in the environment the benchmark was started from: the config names its file.
        start.Environment.Remove("RULEMAIL_KEYSTORE_PASSPHRASE");
        return start;
    }

    /// <summary>Runs <c>rulemail ARGS</c> to its end; its standard output, or an exception with its error output.</summary>
    public static string Run(string workingDirectory, params string[] arguments)
    {
        using var process = Process.Start(Start(workingDirectory, arguments)) ?? throw new InvalidOperationException("dotnet did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0
            ? output.Result
            : throw new InvalidOperationException($"rulemail {string.Join(' ', arguments)} failed ({process.ExitCode}): {error}");
    }

    private static string Locate()
    {
        // This program runs from tests/RuleMail.Benchmarks/bin/CONFIGURATION/TFM/; the CLI's output has the same shape.
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = tfm.Parent?.Name ?? "Release";
        var path = Path.Combine(HostHarness.RepositoryRoot, "engine", "RuleMail.Cli", "bin", configuration, tfm.Name, "rulemail.dll");
        return File.Exists(path)
            ? path
            : throw new InvalidOperationException($"{path} is missing: build engine/RuleMail.Cli -c {configuration} (dotnet run of this project does)");
    }
}
