using System.Diagnostics;

namespace LuaXmpp.Bench.LoadGen.Measure;

/// <summary>CPU time and resident memory of the server (from /proc) and of this generator.</summary>
public static class ProcessStats
{
    /// <summary>USER_HZ: the unit of utime/stime in /proc/PID/stat (proc(5)); 100 on every
    /// Linux the project runs on.</summary>
    private const double ClockTicksPerSecond = 100.0;

    /// <summary>utime + stime of <paramref name="pid"/> in seconds (proc(5) fields 14 and 15,
    /// counted after the parenthesised command name, which may contain spaces).</summary>
    public static double ServerCpuSeconds(int pid)
    {
        if (pid <= 0) return double.NaN;
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state), so utime (14) is fields[11] and stime (15) fields[12].
        return (long.Parse(fields[11]) + long.Parse(fields[12])) / ClockTicksPerSecond;
    }

    /// <summary>VmRSS of <paramref name="pid"/> in bytes (from /proc/PID/status).</summary>
    public static long ServerRssBytes(int pid)
    {
        if (pid <= 0) return 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line[6..].Trim().Split(' ')[0]) * 1024;
            }
        }

        return 0;
    }

    public static double OwnCpuSeconds() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
}
