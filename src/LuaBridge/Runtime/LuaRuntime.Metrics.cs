using System.Diagnostics;
using KeraLua;
using LuaXmpp.LuaBridge.Interop;

namespace LuaXmpp.LuaBridge.Runtime;

// The numbers core.statsmanager's collect() reads (luaxmpp.native.metrics_snapshot): the process,
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
        return 1;
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
