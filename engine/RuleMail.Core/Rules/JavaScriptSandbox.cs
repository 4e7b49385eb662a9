using System.Globalization;
using Acornima.Ast;
using Jint;
using Jint.Native;

namespace RuleMail.Rules;

/// <summary>
/// One Jint engine that has run one rule's script, ready to call its <c>decide(message)</c>: strict mode, no
/// CLR access, no <c>eval</c> or <c>Function</c>, limits on (<see cref="JavaScriptLimits"/>), the native stack
/// guarded, and <see cref="JavaScriptHardening"/> applied before the rule's script.
/// </summary>
/// <remarks>Not thread-safe (a Jint engine is not): <see cref="JavaScriptEnginePool"/> lends it to one caller at a time.</remarks>
internal sealed class JavaScriptSandbox : IDisposable
{
    /// <summary>Looks the entry point up the way script does, so <c>const decide = ...</c> works as well as a declaration.</summary>
    private static readonly Prepared<Script> FindDecide =
        Engine.PrepareScript("typeof decide === 'function' ? decide : undefined", "rulemail:decide", strict: true);

    private readonly Engine _engine;
    private readonly JavaScriptDeadline _deadline;
    private readonly JavaScriptLimits _limits;
    private readonly JsValue _decide;

    private JavaScriptSandbox(Engine engine, JavaScriptDeadline deadline, JavaScriptLimits limits, JsValue decide)
    {
        _engine = engine;
        _deadline = deadline;
        _limits = limits;
        _decide = decide;
    }

    /// <summary>
    /// A new engine that has run <paramref name="script"/>; null when the script defines no <c>decide</c>
    /// function. Throws what the script's top level throws (a <see cref="Jint.Runtime.JavaScriptException"/>
    /// or a limit's exception).
    /// </summary>
    public static JavaScriptSandbox? Create(Prepared<Script> script, JavaScriptLimits limits)
    {
        var deadline = new JavaScriptDeadline(SetupAllowance(limits));
        var engine = new Engine(Options(limits, deadline));
        try
        {
            var harden = engine.Evaluate(JavaScriptHardening.Script);
            engine.Call(harden, [JsNumber.Create(limits.MaxMemoryBytes / sizeof(char)), JsNumber.Create(limits.MaxMemoryBytes / 8)]);
            engine.Execute(script);
            var decide = engine.Evaluate(FindDecide);
            if (decide.IsUndefined())
            {
                engine.Dispose();
                return null;
            }

            deadline.Allowance = limits.Timeout;
            return new JavaScriptSandbox(engine, deadline, limits, decide);
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    /// <summary>Calls <c>decide</c> with a frozen copy of <paramref name="message"/> made in this engine; throws what the call throws.</summary>
    public JsValue Decide(JavaScriptMessage message) => _engine.Call(_decide, [message.Copy(_engine)]);

    /// <summary>
    /// Calls <c>decide</c> once with the time allowance of setting up, so that .NET compiles the interpreter's
    /// paths this script takes before a real message is timed; throws what the call throws.
    /// </summary>
    public JsValue WarmUp(JavaScriptMessage message)
    {
        _deadline.Allowance = SetupAllowance(_limits);
        try
        {
            return Decide(message);
        }
        finally
        {
            _deadline.Allowance = _limits.Timeout;
        }
    }

    public void Dispose() => _engine.Dispose();

    /// <summary>Time for setting an engine up: generous, because the first engines run while .NET compiles Jint.</summary>
    private static TimeSpan SetupAllowance(JavaScriptLimits limits) =>
        TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(5).Ticks, Math.Min(limits.Timeout.Ticks * 10, TimeSpan.FromMinutes(1).Ticks)));

    private static Options Options(JavaScriptLimits limits, JavaScriptDeadline deadline)
    {
        var options = new Options
        {
            Strict = true,
            Culture = CultureInfo.InvariantCulture,
            TimeZone = TimeZoneInfo.Utc,
        };

        // Nothing of .NET is exposed (no SetValue of host objects either); these keep it so even if one were.
        options.Interop.Enabled = false;
        options.Interop.AllowGetType = false;
        options.Interop.AllowSystemReflection = false;
        options.Interop.AllowWrite = false;
        options.Interop.AllowOperatorOverloading = false;
        options.DisableStringCompilation();

        options.Constraint(deadline);
        options.MaxStatements(limits.MaxStatements);
        options.LimitMemory(limits.MaxMemoryBytes);
        options.LimitRecursion(limits.MaxRecursionDepth);
        options.Constraints.RegexTimeout = limits.Timeout;

        // Off by default in Jint 4.18: without it a recursion the depth limit does not see (getters, new,
        // coercions) overflows the native stack and kills the process.
        options.Constraints.StackOverflowGuard = true;
        return options;
    }
}
