using System.Globalization;

namespace RuleMail.Benchmarks.Cluster;

/// <summary>
/// CPU time from <c>/proc</c> (Linux): of a process and all its live descendants, including what their exited
/// children used (<c>utime + stime + cutime + cstime</c> of each), and of the whole machine. Read before and after a
/// measure; the difference is what it cost. Ticks are taken as 100 a second (Linux's USER_HZ on every mainstream build).
/// </summary>
internal static class CpuTime
{
    private const double TicksPerSecond = 100;

    /// <summary>CPU seconds used so far by the processes rooted at <paramref name="roots"/> (each counted once).</summary>
    public static double OfTrees(IEnumerable<int> roots)
    {
        var all = ReadAll();
        var children = all.Values.ToLookup(p => p.Parent);
        var seen = new HashSet<int>();
        var pending = new Stack<int>(roots);
        double ticks = 0;
        while (pending.TryPop(out var pid))
        {
            if (!seen.Add(pid) || !all.TryGetValue(pid, out var process))
            {
                continue;
            }

            ticks += process.Ticks;
            foreach (var child in children[pid])
            {
                pending.Push(child.Id);
            }
        }

        return ticks / TicksPerSecond;
    }

    /// <summary>CPU seconds this process's children used that it has waited for (<c>cutime + cstime</c>): a child's whole cost once it has exited.</summary>
    public static double OfExitedChildren()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(rest[16 - 3], CultureInfo.InvariantCulture) + long.Parse(rest[17 - 3], CultureInfo.InvariantCulture)) / TicksPerSecond;
    }

    /// <summary>The machine's busy and I/O-wait CPU seconds so far, summed over its CPUs (the first line of /proc/stat).</summary>
    public static (double Busy, double IoWait) OfMachine()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..]
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();

        // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
        var busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7];
        return (busy / TicksPerSecond, fields[4] / TicksPerSecond);
    }

    private static Dictionary<int, (int Id, int Parent, long Ticks)> ReadAll()
    {
        var all = new Dictionary<int, (int, int, long)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // Exited meanwhile.
            }

            // After "pid (comm)": state ppid ... utime(14) stime(15) cutime(16) cstime(17), counted from 1 at pid.
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long Field(int number) => long.Parse(rest[number - 3], CultureInfo.InvariantCulture);
            all[pid] = (pid, (int)Field(4), Field(14) + Field(15) + Field(16) + Field(17));
        }

        return all;
    }
}
