namespace LuaXmpp.Host.Hosting;

/// <summary>
/// Keeps the GC's youngest generation small. The runtime sizes gen0's allocation budget from the
/// CPU's last-level cache, so on a machine (or VM) reporting a large L3 (260 MiB on the 2-core
/// development VM) the first gen0 collection comes only after ~90 MiB were allocated: a burst of
/// large stanzas then raises RSS by that much, however little of it is live (issue 16, item 2:
/// +100 MiB within 2 s of a 20 KB-message flood, the GC heap's live part ~40 MiB), and the GC keeps
/// that many bytes of free regions committed for gen0 after collecting. Since .NET 10 the runtime
/// reads System.GC.Gen0MaxBudget from runtimeconfig.json (src/Host/runtimeconfig.template.json
/// sets 8 MiB: committed memory at the peak of a flood 76 → 40 MiB); the governor stays as a
/// backstop for runtimes or settings where it does not apply: every <see cref="Period"/>, if over
/// <see cref="Budget"/> bytes were allocated since the last gen0 collection, it collects gen0 (a
/// few ms: only survivors are copied). An operator who sets DOTNET_GCgen0size keeps the runtime's
/// own pacing.
/// <para>Objects that live a little while (an unacked XEP-0198 queue turning over under a flood)
/// are promoted to gen2 and die there, and the runtime's gen2 budget let ~40 MiB of such garbage
/// build up before a full collection. So when gen2 has grown by <see cref="Gen2Budget"/> since
/// the last full collection, the governor starts a background one (concurrent: the loop keeps
/// running), and afterwards gives the C heap's free pages back (malloc_trim: Lua's and SQLite's
/// freed blocks between live ones, which glibc otherwise keeps).</para>
/// </summary>
public sealed class Gen0Governor : IDisposable
{
    public const long Budget = 8L * 1024 * 1024;

    public const long Gen2Budget = 16L * 1024 * 1024;

    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// At most one forced full collection (and trim) per this interval: a MAM page flood promotes
    /// garbage to gen2 fast, and forcing one each time it grew 16 MiB cut page queries/s to a
    /// quarter (bench/compare --deployment: 50 against 212 without the governor).
    /// </summary>
    public const long FullCollectionIntervalMs = 2000;

    private readonly Timer _timer;
    private long _allocatedAtCollection;
    private int _collections;
    private int _fullCollections;
    private long _gen2AtFullCollection;
    private bool _trimPending;
    private long _lastForcedFull = long.MinValue / 2;
    private static bool s_canTrim = OperatingSystem.IsLinux();

    private Gen0Governor()
    {
        _collections = GC.CollectionCount(0);
        _allocatedAtCollection = GC.GetTotalAllocatedBytes();
        _timer = new Timer(_ => Tick(), null, Period, Period);
    }

    /// <summary>Starts the governor, unless the environment sets gen0's budget itself.</summary>
    public static Gen0Governor? Start() =>
        Environment.GetEnvironmentVariable("DOTNET_GCgen0size") is null && Environment.GetEnvironmentVariable("COMPlus_GCgen0size") is null
            ? new Gen0Governor()
            : null;

    private void Tick()
    {
        GovernGen0();
        GovernGen2();
    }

    private void GovernGen0()
    {
        long allocated = GC.GetTotalAllocatedBytes();
        int collections = GC.CollectionCount(0);
        if (collections != _collections)
        {
            // The runtime collected by itself meanwhile: count from (about) then.
            (_collections, _allocatedAtCollection) = (collections, allocated);
            return;
        }
        if (allocated - _allocatedAtCollection < Budget) return;
        GC.Collect(0, GCCollectionMode.Forced, blocking: true);
        (_collections, _allocatedAtCollection) = (GC.CollectionCount(0), allocated);
    }

    private void GovernGen2()
    {
        int full = GC.CollectionCount(2);
        long gen2 = GC.GetGCMemoryInfo(GCKind.Any).GenerationInfo[2].SizeAfterBytes;
        if (full != _fullCollections)
        {
            (_fullCollections, _gen2AtFullCollection) = (full, gen2);
            if (_trimPending) TrimNativeHeap();
            return;
        }
        if (gen2 - _gen2AtFullCollection < Gen2Budget) return;
        long now = Environment.TickCount64;
        if (now - _lastForcedFull < FullCollectionIntervalMs) return;
        _lastForcedFull = now;
        GC.Collect(2, GCCollectionMode.Forced, blocking: false, compacting: false);
        // Background (blocking: false): the loop and the I/O threads keep running meanwhile.
        _gen2AtFullCollection = gen2;
        _trimPending = true;
    }

    private void TrimNativeHeap()
    {
        _trimPending = false;
        if (!s_canTrim) return;
        try
        {
            _ = MallocTrim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            s_canTrim = false; // not glibc (musl has no malloc_trim)
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    public void Dispose() => _timer.Dispose();
}
