namespace RuleMail.Cli;

/// <summary>The documented exit codes of <c>rulemail</c>.</summary>
internal static class ExitCodes
{
    /// <summary>Done. A failed signature is a result, not an error.</summary>
    public const int Done = 0;

    /// <summary>An unexpected internal error (a bug): one line on stderr, never a stack trace.</summary>
    public const int InternalError = 1;

    /// <summary>Bad usage: unknown command or option, missing argument.</summary>
    public const int Usage = 2;

    /// <summary>Bad input: unreadable file, broken key store, invalid configuration or rules.</summary>
    public const int BadInput = 3;

    /// <summary><c>run --once</c> ran, but a server could not be reached or a message failed for good: see the table.</summary>
    public const int Incomplete = 4;
}
