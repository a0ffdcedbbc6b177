using System.Diagnostics;
using KeraLua;
using LuaXmpp.LuaBridge.Interop;
using LuaXmpp.Metrics;

namespace LuaXmpp.LuaBridge.Runtime;

// The numbers core.statsmanager's collect() reads (luaxmpp.native.metrics.metrics_snapshot): the process,
// the .NET runtime and the native core's own state, read when /metrics is asked for, so nothing
// is counted on the hot path. Everything here runs on the loop thread that owns the sessions.
public sealed partial class LuaRuntime
{
    private static readonly double ProcessStartUnix =
        new DateTimeOffset(Process.GetCurrentProcess().StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0;

    private void RegisterMetricsNatives(NativeTable n) => n.Add("metrics_snapshot", MetricsSnapshot);

    private int MetricsSnapshot(Lua lua)
    {
        lua.CreateTable(0, 24);
        PushProcessNumbers(lua);
        PushRuntimeNumbers(lua);
        PushSessionNumbers(lua);
        PushArchiveNumbers(lua);
        PushRoutingNumbers(lua);
        return 1;
    }

    /// <summary>
    /// The admin shell's stats:show(pattern): core.statsmanager's families whose names match the
    /// Lua pattern, one line per metric, and how many families matched; null without statistics.
    /// </summary>
    public (IReadOnlyList<string> Lines, int Families)? StatsLines(string? pattern)
    {
        AssertLoop();
        using var scope = LuaStack.Enter(State);
        var lua = scope.Lua;
        lua.GetGlobal("require");
        lua.PushString("core.statsmanager");
        if (scope.PCall(1, 1) != LuaStatus.OK) throw new InvalidOperationException(lua.ToString(-1, false));
        lua.GetField(-1, "shell_lines");
        if (pattern is null) lua.PushNil();
        else lua.PushString(pattern);
        if (scope.PCall(1, 2) != LuaStatus.OK) throw new ArgumentException(lua.ToString(-1, false));
        if (lua.Type(-2) != LuaType.Table) return null;
        var lines = new List<string>();
        for (long i = 1; lua.RawGetInteger(-2, i) == LuaType.String; i++)
        {
            lines.Add(lua.ToString(-1, false));
            lua.Pop(1);
        }
        return (lines, (int)lua.ToInteger(-2));
    }

    private static void SetNumber(Lua lua, string key, double value)
    {
        lua.PushNumber(value);
        lua.SetField(-2, key);
    }

    private static void PushProcessNumbers(Lua lua)
    {
        using var self = Process.GetCurrentProcess();
        SetNumber(lua, "process_start_time", ProcessStartUnix);
        SetNumber(lua, "process_cpu", self.TotalProcessorTime.TotalSeconds);
        SetNumber(lua, "process_resident_memory", self.WorkingSet64);
        SetNumber(lua, "process_open_fds", CountOpenFds());
        SetNumber(lua, "process_max_fds", ReadMaxFds());
    }

    private static void PushRuntimeNumbers(Lua lua)
    {
        // GetTotalMemory rather than GCMemoryInfo.HeapSizeBytes: the latter is 0 until a first GC.
        SetNumber(lua, "dotnet_gc_heap_size", GC.GetTotalMemory(false));
        SetNumber(lua, "dotnet_gc_allocated", GC.GetTotalAllocatedBytes());
        SetNumber(lua, "dotnet_gc_gen0_collections", GC.CollectionCount(0));
        SetNumber(lua, "dotnet_gc_gen1_collections", GC.CollectionCount(1));
        SetNumber(lua, "dotnet_gc_gen2_collections", GC.CollectionCount(2));
        SetNumber(lua, "dotnet_threadpool_threads", ThreadPool.ThreadCount);
        SetNumber(lua, "dotnet_threadpool_queue_length", ThreadPool.PendingWorkItemCount);
    }

    private void PushSessionNumbers(Lua lua)
    {
        int connected = 0, authenticated = 0, hibernating = 0, smEnabled = 0;
        long queued = 0;
        foreach (var session in _server.Sessions.All)
        {
            connected++;
            if (session.Username is not null) authenticated++;
            if (session.StreamManagement is not { Enabled: true } sm) continue;
            smEnabled++;
            if (sm.Hibernating) hibernating++;
            queued += sm.State.QueuedCount;
        }
        SetNumber(lua, "c2s_connected", connected);
        SetNumber(lua, "c2s_authenticated", authenticated);
        SetNumber(lua, "c2s_bound", _server.Sessions.FullSessions.Count);
        SetNumber(lua, "smacks_enabled", smEnabled);
        SetNumber(lua, "smacks_hibernating", hibernating);
        SetNumber(lua, "smacks_queued_stanzas", queued);
    }

    private void PushArchiveNumbers(Lua lua)
    {
        long committed = 0, batches = 0;
        double seconds = 0;
        foreach (var service in _archiveServices?.All() ?? [])
        {
            committed += service.Writer.Committed;
            batches += service.Writer.Batches;
            seconds += service.Writer.CommitSeconds;
        }
        SetNumber(lua, "archive_committed", committed);
        SetNumber(lua, "archive_batches", batches);
        SetNumber(lua, "archive_commit", seconds);
        PushHistogram(lua, "archive_batch_size", Merge(s => s.Writer.BatchSizes.Snapshot()));
        PushHistogram(lua, "archive_commit_latency", Merge(s => s.Writer.CommitLatency.Snapshot()));
    }

    private HistogramSnapshot? Merge(Func<Archive.ArchiveService, HistogramSnapshot> read)
    {
        HistogramSnapshot? total = null;
        foreach (var service in _archiveServices?.All() ?? []) total = total is null ? read(service) : total.Plus(read(service));
        return total;
    }

    // { bounds = {...}, cumulative = {... , count}, sum = s }: statsmanager copies it into a histogram.
    private static void PushHistogram(Lua lua, string key, HistogramSnapshot? h)
    {
        if (h is null) return;
        lua.CreateTable(0, 3);
        lua.CreateTable(h.Bounds.Count, 0);
        for (int i = 0; i < h.Bounds.Count; i++)
        {
            lua.PushNumber(h.Bounds[i]);
            lua.RawSetInteger(-2, i + 1);
        }
        lua.SetField(-2, "bounds");
        lua.CreateTable(h.Cumulative.Length, 0);
        for (int i = 0; i < h.Cumulative.Length; i++)
        {
            lua.PushInteger(h.Cumulative[i]);
            lua.RawSetInteger(-2, i + 1);
        }
        lua.SetField(-2, "cumulative");
        SetNumber(lua, "sum", h.Sum);
        lua.SetField(-2, key);
    }

    private void PushRoutingNumbers(Lua lua)
    {
        SetNumber(lua, "stanzas_processed", _server.Router.ProcessedStanzas);
        SetNumber(lua, "stanzas_routed", _server.Router.RoutedStanzas);
        SetNumber(lua, "lua_dispatches", Dispatches);
        SetNumber(lua, "lua_dispatch", _dispatchTicks / (double)Stopwatch.Frequency);
    }

    private static int CountOpenFds()
    {
        try { return Directory.EnumerateFileSystemEntries("/proc/self/fd").Count(); }
        catch (IOException) { return 0; }
        catch (UnauthorizedAccessException) { return 0; }
    }

    // "Max open files  <soft>  <hard>  files" in /proc/self/limits (proc(5)); the soft limit applies.
    private static double ReadMaxFds()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                if (!line.StartsWith("Max open files", StringComparison.Ordinal)) continue;
                var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return fields.Length > 0 && double.TryParse(fields[0], out var soft) ? soft : double.PositiveInfinity;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 0;
    }
}
