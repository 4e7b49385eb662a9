using System.Diagnostics;
using System.Globalization;
using Jint;

namespace RuleMail.Rules;

/// <summary>
/// The wall-clock limit of one engine, like Jint's own <c>TimeoutInterval</c> but with an allowance the
/// sandbox sets before each call: a <c>decide()</c> call gets <see cref="JavaScriptLimits.Timeout"/>, while
/// setting an engine up gets more, because the first engines of a process run while .NET is still compiling
/// Jint's interpreter (measured: a quarter of a second on an idle machine, more on a busy one), and a rule
/// must not fail to load for that.
/// </summary>
/// <remarks>Belongs to one engine, so it is used by one thread at a time.</remarks>
internal sealed class JavaScriptDeadline : Constraint
{
    private long _allowance;
    private long _deadline;

    public JavaScriptDeadline(TimeSpan allowance) => Allowance = allowance;

    /// <summary>The time each following execution may take; read when Jint resets its constraints at the start of one.</summary>
    public TimeSpan Allowance
    {
        get => TimeSpan.FromSeconds((double)_allowance / Stopwatch.Frequency);
        set => _allowance = (long)(value.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>Checking a clock less often only makes the stop a little later; Jint may skip checks.</summary>
    public override bool IsAmortizable => true;

    public override void Check()
    {
        var deadline = _deadline;
        if (deadline != 0 && Stopwatch.GetTimestamp() >= deadline)
        {
            throw new TimeoutException($"ran longer than {Allowance.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture)} ms");
        }
    }

    public override void Reset()
    {
        var deadline = Stopwatch.GetTimestamp() + _allowance;

        // 0 means "nothing running": never store it as a real deadline.
        _deadline = deadline == 0 ? 1 : deadline;
    }
}
