using System.Runtime.InteropServices;

namespace LuaXmpp.Threading;

/// <summary>
/// Lets a dedicated background thread (the SQLite writer, the startup prewarm) give way to the
/// loop thread and the socket threads when the cores are contended, without slowing it when
/// they are idle. Measured with bench/compare --deployment (docs/PERFORMANCE.md, "What the resume
/// tail was, second part"): after a cut of 50 sessions the SQLite writer spent a whole core for
/// over a second committing the 12 000 archive rows the cut left, and the resumes that came in
/// meanwhile waited for CPU behind it.
/// </summary>
/// <remarks>
/// .NET's <see cref="Thread.Priority"/> does nothing on Linux, so this sets the calling thread's
/// own nice value (setpriority(2) with PRIO_PROCESS and the thread id changes one thread on
/// Linux). Raising one's nice value needs no privilege. Elsewhere it does nothing.
/// </remarks>
public static partial class BackgroundPriority
{
    /// <summary>The nice value given: under CFS a nice-10 thread gets about a tenth of a core
    /// that a nice-0 thread also wants, and all of it when nobody else does.</summary>
    public const int Nice = 10;

    private const int PrioProcess = 0;

    /// <summary>Lowers the calling thread's scheduling priority; false where that is not possible.</summary>
    public static bool LowerCurrentThread()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return SetPriority(PrioProcess, GetTid(), Nice) == 0;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, int who, int prio);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetTid();
}
