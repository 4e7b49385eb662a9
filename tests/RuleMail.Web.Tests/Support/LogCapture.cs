using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace RuleMail.Web.Tests.Support;

/// <summary>A log provider that keeps every line (category, level, text and exception) for a test to read.</summary>
internal sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    /// <summary>Every line so far, as "LEVEL category: text" with the exception after it.</summary>
    public IReadOnlyList<string> Lines => [.. _lines];

    /// <summary>All lines as one text.</summary>
    public string All => string.Join('\n', _lines);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            capture._lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : "\n" + exception)}");
    }
}
