using YamlDotNet.Core;

namespace RuleMail.Yaml;

/// <summary>A YAML file that cannot be accepted, with the place of the problem: <c>file:line:col: message</c>.</summary>
public sealed class YamlFileException : RuleMailException
{
    public YamlFileException()
    {
    }

    public YamlFileException(string message)
        : base(message)
    {
    }

    public YamlFileException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public YamlFileException(string file, Mark position, string message, Exception? innerException = null)
        : base($"{file}:{position.Line}:{position.Column}: {message}", innerException!)
    {
        File = file;
        Line = (int)position.Line;
        Column = (int)position.Column;
    }

    public string? File { get; }

    public int Line { get; }

    public int Column { get; }

    /// <summary>Turns YamlDotNet's exception into one line a person can act on.</summary>
    public static YamlFileException From(string file, YamlException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var innermost = exception;
        while (innermost.InnerException is YamlException inner)
        {
            innermost = inner;
        }

        var message = innermost.Message;
        if (message.StartsWith("Property '", StringComparison.Ordinal) && message.Contains("' not found on type", StringComparison.Ordinal))
        {
            var name = message["Property '".Length..message.IndexOf("' not found", StringComparison.Ordinal)];
            message = $"unknown key '{name}'";
        }
        else if (message.StartsWith("Encountered duplicate key", StringComparison.Ordinal))
        {
            message = $"duplicate key '{message["Encountered duplicate key ".Length..]}'";
        }
        else if (message.StartsWith("No node deserializer", StringComparison.Ordinal))
        {
            message = "wrong type of value here (a list or map where a single value belongs, or the reverse)";
        }
        else if (innermost.InnerException is { } cause)
        {
            message = $"invalid value: {cause.Message}";
        }

        return new YamlFileException(file, innermost.Start, message, exception);
    }
}
