namespace RuleMail.Cli;

/// <summary>What a command may touch of the outside world: its streams, environment, folder and clock.</summary>
internal sealed class CliConsole(
    TextWriter output, TextWriter error, Func<string, string?> environment, string workingDirectory, TimeProvider time, Func<Stream>? input = null)
{
    /// <summary>The standard input, for a file argument given as <c>-</c>.</summary>
    public Stream OpenInput() => (input ?? Console.OpenStandardInput)();

    public TextWriter Output { get; } = output;

    public TextWriter Error { get; } = error;

    public string WorkingDirectory { get; } = workingDirectory;

    public TimeProvider Time { get; } = time;

    public string? GetEnvironmentVariable(string name) => environment(name);

    public static CliConsole System { get; } = new(
        Console.Out,
        Console.Error,
        Environment.GetEnvironmentVariable,
        Directory.GetCurrentDirectory(),
        TimeProvider.System);
}
