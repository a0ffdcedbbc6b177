using System.Runtime.InteropServices;

namespace LuaXmpp.Network;

/// <summary>
/// The process's current open-files limit (RLIMIT_NOFILE, soft), read at each use: an operator
/// (or prlimit) may lower it while the server runs.
/// </summary>
/// <remarks>
/// Running out of descriptors is not something to merely retry: the runtime itself needs them
/// (it reads /proc for memory status, the thread pool and timers use eventfds), and with none
/// left the process was seen to die with "Out of memory". So connections are refused while a
/// reserve of descriptors is still free.
/// </remarks>
public static partial class OpenFilesLimit
{
    private const int RlimitNofile = 7; // Linux, every architecture .NET runs on

    /// <summary>The soft limit, or null where it cannot be read (not Linux, or unlimited).</summary>
    public static long? Current()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            if (GetRlimit(RlimitNofile, out var limit) != 0 || limit.Current > long.MaxValue) return null;
            return (long)limit.Current;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// Connections the server may hold under <paramref name="limit"/>: an eighth (at least 128)
    /// stays free for storage files, the log, TLS, the runtime and accepting a connection only
    /// to refuse it.
    /// </summary>
    public static long ConnectionsWithin(long limit) => Math.Max(16, limit - Math.Max(128, limit / 8));

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit")]
    private static partial int GetRlimit(int resource, out RLimit limit);
}
