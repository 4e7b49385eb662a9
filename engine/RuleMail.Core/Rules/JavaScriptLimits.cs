namespace RuleMail.Rules;

/// <summary>
/// What one call of a JavaScript rule's <c>decide(message)</c> may use. Each call starts with the full
/// allowance; a call that exceeds one is stopped, reported in the rule's result, and its engine thrown away.
/// </summary>
/// <remarks>
/// The defaults leave a small <c>decide()</c> (a few dozen statements) three orders of magnitude of room while
/// keeping a runaway script from holding a worker for more than a fifth of a second.
/// </remarks>
public sealed record JavaScriptLimits
{
    public static JavaScriptLimits Default { get; } = new();

    /// <summary>Wall-clock time per call, also the timeout of each regular expression match.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Statements executed per call.</summary>
    public int MaxStatements { get; init; } = 100_000;

    /// <summary>Bytes allocated per call (as .NET counts the engine thread's allocations).</summary>
    public long MaxMemoryBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Depth of nested JavaScript function calls.</summary>
    public int MaxRecursionDepth { get; init; } = 64;

    /// <summary>
    /// Throws for a limit Jint would silently drop: zero, negative or the type's maximum switch its check off
    /// rather than forbid everything or allow everything.
    /// </summary>
    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Timeout, TimeSpan.Zero, nameof(Timeout));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Timeout, TimeSpan.FromMilliseconds(int.MaxValue - 1), nameof(Timeout));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxStatements, nameof(MaxStatements));
        ArgumentOutOfRangeException.ThrowIfEqual(MaxStatements, int.MaxValue, nameof(MaxStatements));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxMemoryBytes, nameof(MaxMemoryBytes));
        ArgumentOutOfRangeException.ThrowIfEqual(MaxMemoryBytes, long.MaxValue, nameof(MaxMemoryBytes));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxRecursionDepth, nameof(MaxRecursionDepth));
    }
}
