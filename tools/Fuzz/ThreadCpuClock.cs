using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LuaXmpp.Fuzz;

/// <summary>
/// CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID), for the per-input time bound. On a
/// machine shared by many processes, wall time per input mostly measures the scheduler; the thread's own
/// CPU time measures the parser (with workstation, non-concurrent GC, collections run on this thread too).
/// Falls back to the Stopwatch where the clock is not available.
/// </summary>
internal static partial class ThreadCpuClock
{
    private const int ClockThreadCpuTimeId = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clockId, out TimeSpec time);

    private static readonly bool s_available = OperatingSystem.IsLinux() && Probe();

    public static string Kind => s_available ? "thread CPU time" : "wall time";

    /// <summary>A timestamp in ticks (100 ns).</summary>
    public static long Now()
    {
        if (!s_available) return Stopwatch.GetTimestamp() * TimeSpan.TicksPerSecond / Stopwatch.Frequency;
        ClockGetTime(ClockThreadCpuTimeId, out var t);
        return t.Seconds * TimeSpan.TicksPerSecond + t.Nanoseconds / 100;
    }

    private static bool Probe()
    {
        try
        {
            return ClockGetTime(ClockThreadCpuTimeId, out _) == 0;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }
}
