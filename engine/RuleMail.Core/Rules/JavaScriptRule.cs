using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.RegularExpressions;
using Acornima;
using Acornima.Ast;
using Jint;
using Jint.Native;
using Jint.Native.Object;
using Jint.Runtime;
using MimeKit;
using RuleMail.Crypto;

namespace RuleMail.Rules;

/// <summary>
/// A rule file <c>*.js</c> that defines <c>function decide(message)</c>: it gets a frozen copy of the message
/// model and returns a decision object (the keys of <see cref="RuleDecision"/>) or null/undefined for no match.
/// It applies in both directions (the script reads <c>message.direction</c>) and runs in a
/// <see cref="JavaScriptSandbox"/> under <see cref="JavaScriptLimits"/>.
/// </summary>
/// <remarks>
/// Thread-safe: the script is prepared once, and each call borrows an engine from the rule's
/// <see cref="JavaScriptEnginePool"/>. A script's own fault (an exception, a limit, a value that is not a
/// decision) never escapes <see cref="Evaluate(RuleMessage)"/>: it comes back as <see cref="RuleResult.Error"/>, one line.
/// </remarks>
internal sealed partial class JavaScriptRule : IRule
{
    private static readonly IReadOnlyList<string> Decided = ["decide() returned a decision"];


    private readonly JavaScriptEnginePool _pool;
    private readonly JavaScriptLimits _limits;

    private JavaScriptRule(string file, JavaScriptEnginePool pool, JavaScriptLimits limits)
    {
        File = file;
        Name = Path.GetFileNameWithoutExtension(file);
        _pool = pool;
        _limits = limits;
    }

    public string Name { get; }

    public string File { get; }

    public RuleDirection On => RuleDirection.Both;

    public bool Enabled => true;

    /// <summary>Reads the script at <paramref name="path"/>; see <see cref="TryCompile"/>.</summary>
    /// <param name="file">The name for traces and errors (e.g. <c>rules/50-finance.js</c>); the rule's name is its file name without extension.</param>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file cannot be read.</exception>
    public static bool TryLoad(
        string path,
        string file,
        [NotNullWhen(true)] out JavaScriptRule? rule,
        [NotNullWhen(false)] out RuleLoadError? error,
        JavaScriptLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return TryCompile(file, System.IO.File.ReadAllText(path), out rule, out error, limits);
    }

    /// <summary>
    /// Parses <paramref name="source"/>, runs its top level in a sandbox and calls <c>decide</c> once on a
    /// sample message (whatever that call does is ignored: it only gets .NET to compile the paths the script
    /// takes). False, with the place of the problem, for a syntax error (line and column), an exception or
    /// limit at the top level (with its line and column when it has one), or no <c>decide</c> function.
    /// </summary>
    /// <param name="file">The name for traces and errors; the rule's name is its file name without extension.</param>
    /// <param name="limits">Per call of <c>decide</c>; <see cref="JavaScriptLimits.Default"/> when null.</param>
    public static bool TryCompile(
        string file,
        string source,
        [NotNullWhen(true)] out JavaScriptRule? rule,
        [NotNullWhen(false)] out RuleLoadError? error,
        JavaScriptLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(file);
        ArgumentNullException.ThrowIfNull(source);
        limits ??= JavaScriptLimits.Default;
        limits.Validate();
        rule = null;

        Prepared<Script> script;
        try
        {
            script = Engine.PrepareScript(source, file, strict: true);
        }
        catch (ScriptPreparationException e)
        {
            error = e.InnerException is ParseErrorException parse
                ? new RuleLoadError(file, parse.LineNumber, parse.Column + 1, OneLine(parse.Description))
                : new RuleLoadError(file, 0, 0, OneLine(e.Message));
            return false;
        }

        JavaScriptSandbox? first;
        try
        {
            first = JavaScriptSandbox.Create(script, limits);
        }
        catch (Exception e) when (IsScriptFault(e))
        {
            var failure = Failure.Of(e, limits, file);
            error = new RuleLoadError(file, failure.Line, failure.Column, "the script's top level failed: " + failure.Message);
            return false;
        }

        if (first is null)
        {
            error = new RuleLoadError(file, 0, 0, "no decide function: a JavaScript rule defines function decide(message)");
            return false;
        }

        // Whatever a sample message does to the script (an exception, a limit) is no load error: the script
        // need not make sense of it. The engine goes, as the call may have changed the script's state.
        using (first)
        {
            try
            {
                first.WarmUp(JavaScriptMessage.From(WarmUpMessage().Root));
            }
            catch (Exception e) when (IsScriptFault(e))
            {
            }
        }

        rule = new JavaScriptRule(file, new JavaScriptEnginePool(script, limits), limits);
        error = null;
        return true;
    }

    public RuleResult Evaluate(RuleMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return Evaluate(JavaScriptMessage.From(message.Root));
    }

    /// <summary>
    /// Evaluates the rule on <paramref name="message"/>, read once for all the JavaScript rules of one message
    /// (<see cref="RuleSet.Evaluate"/>); the script gets a frozen copy of it made in its own engine.
    /// </summary>
    public RuleResult Evaluate(JavaScriptMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        JavaScriptSandbox? sandbox = null;
        try
        {
            sandbox = _pool.Rent();
            if (sandbox is null)
            {
                return Failed("the script no longer defines a decide function");
            }

            var value = sandbox.Decide(message);
            var decision = JavaScriptDecision.Read(value, out var problem);

            // The call ended cleanly, so the engine is fit for the next message even if the value was not.
            _pool.Return(sandbox);
            sandbox = null;
            if (problem is not null)
            {
                return Failed(problem);
            }

            return decision is null
                ? new RuleResult(Name, File, false, null, null, [])
                : new RuleResult(Name, File, true, decision, null, Decided);
        }
        catch (Exception e) when (IsScriptFault(e))
        {
            var failure = Failure.Of(e, _limits, File);
            return Failed(failure.Line > 0 ? $"{failure.Message} (line {failure.Line}, column {failure.Column})" : failure.Message);
        }
        finally
        {
            // Not returned: the call failed, and whatever it left in the engine goes with it.
            sandbox?.Dispose();
        }
    }

    /// <summary>
    /// Anything thrown while the script runs is the script's doing (an exception, a limit, or a built-in it
    /// drove into a .NET exception), except the failures no caller can recover from.
    /// </summary>
    private static bool IsScriptFault(Exception e) => e is not (StackOverflowException or AccessViolationException);

    private static string OneLine(string text)
    {
        const int MaxLength = 300;
        var line = LineBreaks().Replace(text, " ").Trim();
        return line.Length <= MaxLength ? line : string.Concat(line.AsSpan(0, MaxLength), "…");
    }

    /// <summary>A message with every part of the model filled in, for <see cref="JavaScriptSandbox.WarmUp"/>.</summary>
    private static RuleMessage WarmUpMessage()
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Warm Up", "warm-up@rulemail.invalid"));
        message.To.Add(new MailboxAddress("Rule Mail", "rules@rulemail.invalid"));
        message.Cc.Add(new MailboxAddress("Copy", "copy@rulemail.invalid"));
        message.Subject = "[warm-up #1] RuleMail prepares a JavaScript rule";
        message.Date = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var body = new BodyBuilder { TextBody = "This message is never sent: it runs each JavaScript rule once while it loads." };
        body.Attachments.Add("warm-up.txt", "warm-up"u8.ToArray(), new ContentType("text", "plain"));
        message.Body = body.ToMessageBody();
        var security = new SecurityResult(SecurityResult.SmimeType, SecurityOutcome.Failed("warm-up"), SecurityOutcome.Succeeded("warm-up"));
        return RuleMessage.From(message, security, "incoming", "rules@rulemail.invalid", 1024);
    }

    private RuleResult Failed(string error) => new(Name, File, false, null, error, []);

    [GeneratedRegex(@"\s*[\r\n]+\s*")]
    private static partial Regex LineBreaks();

    /// <summary>
    /// Function frames of Jint's call stack, <c>at decide (rules/x.js:3:7)</c>. The bare last frame
    /// (<c>at rules/x.js:5:1</c>) is where the host's call entered, not a place in the script's code.
    /// </summary>
    [GeneratedRegex(@"at [^\r\n()]+? \((?<file>[^\r\n()]+):(?<line>\d+):(?<column>\d+)\)", RegexOptions.CultureInvariant)]
    private static partial Regex StackFrame();

    /// <summary>A script fault as one line, with the place in the rule's file when Jint knows it (columns from 1).</summary>
    private readonly record struct Failure(int Line, int Column, string Message)
    {
        /// <summary>Never throws: a failure to describe a failure gives a generic description.</summary>
        public static Failure Of(Exception exception, JavaScriptLimits limits, string file)
        {
            try
            {
                return Describe(exception, limits, file);
            }
            catch (Exception e) when (IsScriptFault(e))
            {
                return new(0, 0, OneLine($"the script failed: {exception.GetType().Name}"));
            }
        }

        private static Failure Describe(Exception exception, JavaScriptLimits limits, string file) => exception switch
        {
            StatementsCountOverflowException => new(0, 0, $"statement limit reached: ran more than {limits.MaxStatements.ToString("N0", CultureInfo.InvariantCulture)} statements"),
            RegexMatchTimeoutException => new(0, 0, $"time limit reached: a regular expression ran longer than {limits.Timeout.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms"),
            TimeoutException => new(0, 0, "time limit reached: " + exception.Message),
            MemoryLimitExceededException => new(0, 0, $"memory limit reached: allocated more than {limits.MaxMemoryBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes"),
            RecursionDepthOverflowException => new(0, 0, $"recursion limit reached: calls nested deeper than {limits.MaxRecursionDepth.ToString(CultureInfo.InvariantCulture)}"),
            JavaScriptException script => FromScript(script, file),
            _ => new(0, 0, OneLine($"the script failed: {exception.GetType().Name}: {exception.Message}")),
        };

        private static Failure FromScript(JavaScriptException exception, string file)
        {
            var message = exception.Message ?? string.Empty;
            var name = ErrorName(exception.Error);
            if (name is not null && !message.StartsWith(name, StringComparison.Ordinal))
            {
                message = $"{name}: {message}";
            }

            if (message.Contains("Maximum call stack size exceeded", StringComparison.Ordinal))
            {
                message = "stack limit reached: " + message;
            }

            var location = exception.Location;
            if (string.Equals(location.SourceFile, file, StringComparison.Ordinal))
            {
                return new(location.Start.Line, location.Start.Column + 1, OneLine(message));
            }

            // Thrown inside the sandbox's own wrappers (a refused repeat, say): point at the rule's calling line,
            // when Jint knows it (it does for calls, not for a spread or a for-of that reached a wrapper).
            // Jint composed the stack while the error left the script (under its limits); reading it runs nothing.
            foreach (Match frame in StackFrame().Matches(exception.JavaScriptStackTrace ?? string.Empty))
            {
                if (frame.Groups["file"].Value == file)
                {
                    return new(
                        int.Parse(frame.Groups["line"].ValueSpan, CultureInfo.InvariantCulture),
                        int.Parse(frame.Groups["column"].ValueSpan, CultureInfo.InvariantCulture),
                        OneLine(message));
                }
            }

            return new(0, 0, OneLine(message));
        }

        /// <summary>The error's <c>name</c> (TypeError, ...) read from data properties only, so no script runs.</summary>
        private static string? ErrorName(JsValue error)
        {
            var current = error as ObjectInstance;
            for (var depth = 0; current is not null && depth < 8; depth++, current = current.Prototype)
            {
                var property = current.GetOwnProperty("name");
                if (property != Jint.Runtime.Descriptors.PropertyDescriptor.Undefined)
                {
                    return property.IsDataDescriptor() && property.Value.IsString() ? property.Value.ToString() : null;
                }
            }

            return null;
        }
    }
}
