using System.Runtime.InteropServices;

namespace LuaXmpp.Bench.Micro;

/// <summary>
/// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID). The development machine is shared:
/// wall-clock timings there grow with other people's load, the loop thread's own CPU time far
/// less. Benchmarks record each batch's CPU time on the server loop; <c>--cpu-time</c> reports it.
/// </summary>
public static class ThreadCpu
{
    private const int ClockThreadCpuTime = 3;

    /// <summary>CPU nanoseconds of the last batch a benchmark ran on the loop.</summary>
    public static long LastBatch { get; private set; }

    public static long Now()
    {
        clock_gettime(ClockThreadCpuTime, out var t);
        return t.Seconds * 1_000_000_000 + t.Nanoseconds;
    }

    /// <summary>Runs the batch and records the CPU time it took on this thread.</summary>
    public static void Measure(Action batch)
    {
        long start = Now();
        batch();
        LastBatch = Now() - start;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", SetLastError = false)]
    private static extern int clock_gettime(int clock, out TimeSpec time);
}
