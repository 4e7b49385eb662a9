using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace RuleMail.Core.Tests.Support;

/// <summary>
/// Runs a real tool (openssl, gpg) with a timeout. A missing tool, a timeout or a non-zero exit fails the
/// test with the command line and the tool's stderr: interop tests never pass by skipping what they need.
/// </summary>
internal static class ExternalTool
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static ToolResult Run(string tool, IReadOnlyList<string> arguments, ToolOptions? options = null)
    {
        var result = TryRun(tool, arguments, options);
        if (result.ExitCode != 0)
        {
            throw new ExternalToolException(
                $"{result.CommandLine} failed with exit code {result.ExitCode}:\n{result.StandardError}{result.StandardOutputText}");
        }

        return result;
    }

    /// <summary>Runs the tool and returns its result whatever the exit code (still fails when the tool is missing or hangs).</summary>
    public static ToolResult TryRun(string tool, IReadOnlyList<string> arguments, ToolOptions? options = null)
    {
        options ??= new ToolOptions();
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = options.WorkingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in options.Environment)
        {
            start.Environment[name] = value;
        }

        var commandLine = tool + " " + string.Join(' ', arguments);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new ExternalToolException($"{commandLine}: the process did not start");
        }
        catch (Win32Exception e)
        {
            throw new ExternalToolException(
                $"{tool} is needed by this test but cannot be run ({e.Message}); install it (Debian: apt-get install openssl gnupg)", e);
        }

        using (process)
        {
            var output = new MemoryStream();
            var copyOutput = process.StandardOutput.BaseStream.CopyToAsync(output);
            var readError = process.StandardError.ReadToEndAsync();
            if (options.Input is not null)
            {
                process.StandardInput.BaseStream.Write(options.Input);
            }

            process.StandardInput.Close();
            var timeout = options.Timeout ?? DefaultTimeout;
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                throw new ExternalToolException($"{commandLine} did not finish within {timeout.TotalSeconds} s");
            }

            process.WaitForExit();
            copyOutput.Wait();
            return new ToolResult(commandLine, process.ExitCode, output.ToArray(), readError.Result);
        }
    }
}

internal sealed class ToolOptions
{
    public string? WorkingDirectory { get; init; }

    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    public byte[]? Input { get; init; }

    public TimeSpan? Timeout { get; init; }
}

internal sealed record ToolResult(string CommandLine, int ExitCode, byte[] StandardOutput, string StandardError)
{
    public string StandardOutputText => Encoding.UTF8.GetString(StandardOutput);
}

internal sealed class ExternalToolException : Exception
{
    public ExternalToolException()
    {
    }

    public ExternalToolException(string message)
        : base(message)
    {
    }

    public ExternalToolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
