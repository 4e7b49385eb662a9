namespace RuleMail.Host.Scheduling;

/// <summary>What one reload did to the rules or to the key store.</summary>
internal enum ReloadOutcome
{
    /// <summary>The files hold what is in force already.</summary>
    Unchanged,

    /// <summary>What the files hold now is in force.</summary>
    Reloaded,

    /// <summary>The files do not load (or their keys do not open): what was in force stays.</summary>
    Refused,
}
