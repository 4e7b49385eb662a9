namespace RuleMail.Host.Configuration;

/// <summary>Limits of the JavaScript rule sandbox, per call of <c>decide(message)</c>.</summary>
public sealed class JavaScriptConfig
{
    public int TimeoutMs { get; set; } = 200;

    public int MaxStatements { get; set; } = 100_000;

    /// <summary>Raise it when rules work on large message texts (a 2 MB body copied once already takes 4 MB).</summary>
    public int MaxMemoryMb { get; set; } = 4;

    public int MaxRecursion { get; set; } = 64;

    /// <summary>The limits in the rule engine's terms.</summary>
    [YamlDotNet.Serialization.YamlIgnore]
    public Rules.JavaScriptLimits Limits => new()
    {
        Timeout = TimeSpan.FromMilliseconds(TimeoutMs),
        MaxStatements = MaxStatements,
        MaxMemoryBytes = MaxMemoryMb * 1024L * 1024L,
        MaxRecursionDepth = MaxRecursion,
    };
}
