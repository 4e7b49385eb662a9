namespace RuleMail.Core.Tests.Support;

/// <summary>The real <c>openssl</c> (OpenSSL 3.0 on the test machines), run in a working directory.</summary>
internal sealed class OpenSsl(string workingDirectory)
{
    public string WorkingDirectory { get; } = workingDirectory;

    public ToolResult Run(params string[] arguments) =>
        ExternalTool.Run("openssl", arguments, new ToolOptions { WorkingDirectory = WorkingDirectory });

    /// <summary>Runs with <paramref name="environment"/> set, so passphrases go through <c>env:VAR</c> rather than the command line.</summary>
    public ToolResult Run(IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        ExternalTool.Run("openssl", arguments, new ToolOptions { WorkingDirectory = WorkingDirectory, Environment = environment });

    public void Write(string name, string content) => File.WriteAllText(Path.Combine(WorkingDirectory, name), content);

    public byte[] Read(string name) => File.ReadAllBytes(Path.Combine(WorkingDirectory, name));
}
