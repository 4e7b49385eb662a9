using RuleMail.Host.Configuration;

namespace RuleMail.Host.Scheduling;

/// <summary>
/// The jobs <see cref="RuleMailHostServices.AddRuleMailScheduling"/> put on the schedule (<c>fetch:NAME</c>,
/// <c>send:NAME</c>); not registered under <c>rulemail serve</c>, where no account runs.
/// </summary>
internal sealed record ScheduledJobs(IReadOnlySet<string> Names)
{
    public static ScheduledJobs Of(RuleMailConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var account in config.Accounts)
        {
            if (account.Fetch is not null)
            {
                names.Add($"fetch:{account.Name}");
            }

            if (account.Send?.Outbox is not null)
            {
                names.Add($"send:{account.Name}");
            }
        }

        return new ScheduledJobs(names);
    }
}
