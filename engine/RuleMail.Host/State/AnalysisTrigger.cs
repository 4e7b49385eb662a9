namespace RuleMail.Host.State;

/// <summary>What made RuleMail analyse a message: its fetch (the first analysis), or a retry that judged it again.</summary>
public enum AnalysisTrigger
{
    Fetch,
    Retry,
}
