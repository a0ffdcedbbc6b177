using System.Diagnostics;
using System.Globalization;
using KeraLua;

namespace LuaXmpp.LuaBridge.Runtime;

// A diagnostic for memory investigations (issue 16's never-acking session): with
// LUAXMPP_MEMORY_TRACE=<milliseconds> in the environment, one info line per interval splits the
// process's memory into the .NET heap, the Lua heap and SQLite's allocations, so that an RSS
// growth can be attributed. Off unless set; read on the loop thread, which owns the Lua state.
public sealed partial class LuaRuntime
{
    private Timer? _memoryTrace;

    private void StartMemoryTrace()
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable("LUAXMPP_MEMORY_TRACE"), NumberStyles.None, CultureInfo.InvariantCulture, out int ms) || ms <= 0) return;
        _memoryTrace = new Timer(_ => { if (!_disposed) _server.Loop.Post(TraceMemory); }, null, ms, ms);
    }

    private void TraceMemory()
    {
        const double Mib = 1024 * 1024;
        using var self = Process.GetCurrentProcess();
        var gc = GC.GetGCMemoryInfo();
        long luaBytes = _main.GarbageCollector(LuaGC.Count, 0) * 1024L + _main.GarbageCollector(LuaGC.Countb, 0);
        _log.Info(string.Create(CultureInfo.InvariantCulture,
            $"memory: rss {self.WorkingSet64 / Mib:F1} MiB, .NET heap {GC.GetTotalMemory(false) / Mib:F1} MiB (committed {gc.TotalCommittedBytes / Mib:F1}), "
            + $"lua {luaBytes / Mib:F1} MiB, sqlite {SQLitePCL.raw.sqlite3_memory_used() / Mib:F1} MiB (high {SQLitePCL.raw.sqlite3_memory_highwater(0) / Mib:F1})"));
    }
}
