using RuleMail.Host.Tests.Support;

namespace RuleMail.Benchmarks.Cluster;

/// <summary>CPU seconds so far of the nodes, PostgreSQL and Dovecot, and of the whole machine; a difference of two is a run's cost.</summary>
internal sealed record Sample(double Nodes, double Postgres, double Dovecot, double MachineBusy, double MachineIoWait, long Commits)
{
    public static async Task<Sample> TakeAsync(IEnumerable<ServerProcess> nodes, PostgresInstance postgres, DovecotServer dovecot, ClusterProbe probe)
    {
        var dovecotMaster = int.Parse(File.ReadLines(Path.Combine(dovecot.Root, "run", "master.pid")).First(), System.Globalization.CultureInfo.InvariantCulture);
        var (busy, ioWait) = CpuTime.OfMachine();
        return new Sample(
            CpuTime.OfTrees(nodes.Select(n => n.Id)),
            CpuTime.OfTrees([postgres.ProcessId]),
            CpuTime.OfTrees([dovecotMaster]),
            busy,
            ioWait,
            await probe.CommitsAsync());
    }

    public static Sample operator -(Sample after, Sample before)
    {
        ArgumentNullException.ThrowIfNull(after);
        ArgumentNullException.ThrowIfNull(before);
        return new Sample(after.Nodes - before.Nodes, after.Postgres - before.Postgres, after.Dovecot - before.Dovecot,
            after.MachineBusy - before.MachineBusy, after.MachineIoWait - before.MachineIoWait, after.Commits - before.Commits);
    }
}
