using System.Globalization;
using System.Text.RegularExpressions;

namespace RuleMail.Host.Configuration;

/// <summary>How often a job runs: an interval (<c>30s</c>, <c>5m</c>, <c>1h</c>, <c>1d</c>) or a Quartz cron expression.</summary>
public sealed partial record Schedule(TimeSpan? Interval, string? Cron)
{
    /// <summary>Used when a block names neither <c>every</c> nor <c>cron</c>.</summary>
    public static Schedule Default { get; } = new(TimeSpan.FromMinutes(1), null);

    /// <summary>The schedule a fetch or send block sets; null with the reason when it is invalid.</summary>
    public static Schedule? TryParse(string? every, string? cron, out string? error)
    {
        error = null;
        if (every is not null && cron is not null)
        {
            error = "set every or cron, not both";
            return null;
        }

        if (cron is not null)
        {
            if (!Quartz.CronExpression.TryParse(cron, out _))
            {
                error = $"cron '{cron}' is not a Quartz cron expression (seconds minutes hours day-of-month month day-of-week, e.g. \"0 0/5 * * * ?\")";
                return null;
            }

            return new Schedule(null, cron);
        }

        if (every is null)
        {
            return Default;
        }

        var match = IntervalPattern().Match(every);
        if (!match.Success)
        {
            error = $"every '{every}' is not an interval such as 30s, 5m, 1h or 1d";
            return null;
        }

        var amount = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        var interval = match.Groups[2].Value switch
        {
            "s" => TimeSpan.FromSeconds(amount),
            "m" => TimeSpan.FromMinutes(amount),
            "h" => TimeSpan.FromHours(amount),
            _ => TimeSpan.FromDays(amount),
        };
        if (interval < TimeSpan.FromSeconds(1))
        {
            error = $"every '{every}' must be at least 1s";
            return null;
        }

        return new Schedule(interval, null);
    }

    public override string ToString() => Cron is not null ? $"cron {Cron}" : $"every {Interval}";

    [GeneratedRegex(@"^\s*(\d{1,6})\s*(s|m|h|d)\s*$")]
    private static partial Regex IntervalPattern();
}
