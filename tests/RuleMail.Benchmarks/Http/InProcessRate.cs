using System.Diagnostics;

namespace RuleMail.Benchmarks.Http;

/// <summary>Calls per second of one use-case call made in this process, and this process's CPU time per call.</summary>
internal sealed record InProcessResult(int Threads, long Calls, TimeSpan Window, TimeSpan Cpu)
{
    public double PerSecond => Calls / Window.TotalSeconds;

    public double CpuPerCall => Cpu.TotalMicroseconds / Math.Max(1, Calls);
}

/// <summary>
/// The use case called directly (what an embedding .NET program gets): <c>threads</c> threads each call it in a loop,
/// first through a warm-up, then for a fixed window in which every finished call counts.
/// </summary>
internal static class InProcessRate
{
    public static InProcessResult Measure(Action call, int threads, TimeSpan warmup, TimeSpan duration)
    {
        var counts = new long[threads];
        long measureFrom = 0, measureTo = 0;
        using var started = new Barrier(threads + 1);
        var workers = Enumerable.Range(0, threads).Select(index => new Thread(() =>
        {
            started.SignalAndWait();
            var calls = 0L;
            while (true)
            {
                var start = Stopwatch.GetTimestamp();
                var to = Volatile.Read(ref measureTo);
                if (to != 0 && start >= to)
                {
                    break;
                }

                call();

                // A call counts when it started after the window opened and ended before it closed.
                var from = Volatile.Read(ref measureFrom);
                var end = Stopwatch.GetTimestamp();
                to = Volatile.Read(ref measureTo);
                if (from != 0 && start >= from && (to == 0 || end <= to))
                {
                    calls++;
                }
            }

            counts[index] = calls;
        })
        { IsBackground = true, Name = $"in-process {index}" }).ToList();

        workers.ForEach(t => t.Start());
        started.SignalAndWait();
        Thread.Sleep(warmup);
        using var self = Process.GetCurrentProcess();
        var cpu0 = self.TotalProcessorTime;
        var from = Stopwatch.GetTimestamp();
        Volatile.Write(ref measureFrom, from);
        Thread.Sleep(duration);
        var to = Stopwatch.GetTimestamp();
        Volatile.Write(ref measureTo, to);
        self.Refresh();
        var cpu1 = self.TotalProcessorTime;
        workers.ForEach(t => t.Join());
        return new InProcessResult(threads, counts.Sum(), Stopwatch.GetElapsedTime(from, to), cpu1 - cpu0);
    }
}
