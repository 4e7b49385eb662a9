using System.Collections.Concurrent;
using Acornima.Ast;
using Jint;

namespace RuleMail.Rules;

/// <summary>
/// The idle engines of one JavaScript rule. The script is parsed and analysed once
/// (<see cref="Engine.PrepareScript"/>) and every engine runs that same prepared script; an engine is lent to
/// one worker at a time, comes back after a clean call and is thrown away after any failure, so whatever a
/// failed call left behind never meets the next message.
/// </summary>
/// <remarks>Thread-safe. Holds at most a few engines per core; more are made when more workers call at once.</remarks>
internal sealed class JavaScriptEnginePool
{
    private static readonly int MaxIdle = Math.Max(4, Environment.ProcessorCount * 2);

    private readonly Prepared<Script> _script;
    private readonly JavaScriptLimits _limits;
    private readonly ConcurrentBag<JavaScriptSandbox> _idle = [];
    private int _idleCount;

    public JavaScriptEnginePool(Prepared<Script> script, JavaScriptLimits limits)
    {
        _script = script;
        _limits = limits;
    }

    /// <summary>An idle engine or a new one; null when a new engine's script no longer defines <c>decide</c>.</summary>
    public JavaScriptSandbox? Rent()
    {
        if (_idle.TryTake(out var sandbox))
        {
            Interlocked.Decrement(ref _idleCount);
            return sandbox;
        }

        return JavaScriptSandbox.Create(_script, _limits);
    }

    /// <summary>Gives back an engine whose last call ended cleanly.</summary>
    public void Return(JavaScriptSandbox sandbox)
    {
        if (Interlocked.Increment(ref _idleCount) > MaxIdle)
        {
            Interlocked.Decrement(ref _idleCount);
            sandbox.Dispose();
            return;
        }

        _idle.Add(sandbox);
    }
}
