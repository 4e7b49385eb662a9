using System.Globalization;

namespace RuleMail.Benchmarks.Pipeline;

/// <summary>
/// This process's resident memory from <c>/proc/self/status</c> (Linux): the peak (<c>VmHWM</c>) and the current
/// size (<c>VmRSS</c>), and a reset of the peak to the current size (<c>clear_refs</c> 5, Linux 4.0 and later), so
/// the peak of one step can be read on its own.
/// </summary>
internal static class ProcStatus
{
    /// <summary>The peak resident set size in bytes since start or the last <see cref="ResetPeak"/>.</summary>
    public static long Peak => Read("VmHWM:");

    /// <summary>The resident set size in bytes now.</summary>
    public static long Resident => Read("VmRSS:");

    /// <summary>Sets the peak to the current resident size; false when the kernel does not allow it.</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long Read(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                var value = line[field.Length..].Trim();
                return long.Parse(value.Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"/proc/self/status has no {field}");
    }
}
