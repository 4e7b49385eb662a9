using System.Globalization;
using System.Security.Cryptography;

namespace RuleMail.Host.Cluster;

/// <summary>
/// This process as a member of the cluster: its node name (<c>RULEMAIL_NODE</c>, else the machine name) and an instance
/// id unique to this start, which owns its leases and claims. A node restarted after a crash is a new instance, so it
/// never mistakes the claims of its dead predecessor for its own; those expire and are taken over like any other.
/// </summary>
public sealed record ClusterNode(string Name, string Instance)
{
    /// <summary>The variable naming the node (two nodes on one machine need different names).</summary>
    public const string NodeVariable = "RULEMAIL_NODE";

    /// <summary>The instance as a file name (its spool folder).</summary>
    public string SpoolName => Instance.Replace('/', '-');

    /// <summary>The process id this instance was started as (from <see cref="Instance"/>).</summary>
    public static int? ProcessOf(string spoolName)
    {
        ArgumentNullException.ThrowIfNull(spoolName);
        var parts = spoolName.Split('-');
        return parts.Length >= 3 && int.TryParse(parts[^2], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
    }

    public static ClusterNode Start(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var name = environment(NodeVariable);
        name = string.IsNullOrWhiteSpace(name) ? Environment.MachineName : name.Trim();
        if (name.Length > 64 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_')))
        {
            throw new RuleMailException($"{NodeVariable}: a node name is letters, digits, '.', '-' or '_' (at most 64), not '{name}'");
        }

        var instance = string.Create(CultureInfo.InvariantCulture,
            $"{name}/{Environment.ProcessId}/{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");
        return new ClusterNode(name, instance);
    }
}
